package web_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
	"github.com/roster-app/roster/web"
	"github.com/roster-app/roster/web/webtest"
)

// TestBootstrapPage creates the Main administrator from the one-time link.
func TestBootstrapPage(t *testing.T) {
	for _, engine := range sqlstoretest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := sqlstoretest.Open(t, engine)
			srv := web.NewServer(web.Deps{Companies: s, Users: s, Roles: s, Sessions: s, Events: s, Platform: s,
				Hasher: secure.NewHasher(secure.TestParams, 2), Logger: testLogger(t)})
			h := webtest.Handler(t, srv.Handler())
			link, err := web.NewBootstrapLink(ctx, s, "http://roster.example/")
			must(t, err)
			u, err := url.Parse(link)
			must(t, err)
			token := u.Query().Get("token")
			if u.Host != "roster.example" || u.Path != "/setup" || token == "" {
				t.Fatalf("link %s", link)
			}
			get := func(target string) *httptest.ResponseRecorder {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
				return rec
			}
			post := func(vals url.Values) *httptest.ResponseRecorder {
				req := httptest.NewRequest("POST", "/setup", strings.NewReader(vals.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			rec := get("/setup?token=" + token)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="password"`) {
				t.Fatalf("form: %d %s", rec.Code, rec.Body)
			}
			if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("HTML headers: %v", rec.Header())
			}
			// In Russian for a Russian browser, with the way to sign in.
			ru := httptest.NewRequest("GET", "/setup?token="+token, nil)
			ru.Header.Set("Accept-Language", "ru-RU,ru;q=0.9,en;q=0.8")
			rrec := httptest.NewRecorder()
			h.ServeHTTP(rrec, ru)
			if rrec.Code != 200 || !strings.Contains(rrec.Body.String(), `<html lang="ru">`) || !strings.Contains(rrec.Body.String(), "Создание главного администратора") ||
				!strings.Contains(rrec.Body.String(), `<a href="/signin">Войти</a>`) {
				t.Fatalf("russian form: %d %s", rrec.Code, rrec.Body)
			}
			if rec := get("/setup?token=short"); rec.Code != 404 {
				t.Errorf("malformed token: %d", rec.Code)
			}
			// Errors are shown beside the fields, and nothing is created.
			rec = post(url.Values{"token": {token}, "email": {"not-an-email"}, "password": {"short"}})
			if rec.Code != 422 || !strings.Contains(rec.Body.String(), "valid e-mail") || !strings.Contains(rec.Body.String(), "at least 12") {
				t.Fatalf("invalid form: %d %s", rec.Code, rec.Body)
			}
			// Text Roster does not accept is refused at the form too.
			rec = post(url.Values{"token": {token}, "email": {"boss@example.com"}, "password": {"a long enough\x00phrase"}, "first_name": {"Ivan\u202E"}})
			if rec.Code != 422 || !strings.Contains(rec.Body.String(), "control characters") || !strings.Contains(rec.Body.String(), "bidirectional") {
				t.Fatalf("odd text: %d %s", rec.Code, rec.Body)
			}
			wrong, _ := secure.NewToken()
			if rec := post(url.Values{"token": {wrong}, "email": {"boss@example.com"}, "password": {"a long enough phrase"}}); rec.Code != 404 {
				t.Fatalf("wrong token: %d %s", rec.Code, rec.Body)
			}
			rec = post(url.Values{"token": {token}, "email": {"Boss@Example.com"}, "password": {"a long enough phrase"}, "first_name": {"Anna"}})
			if rec.Code != 201 || !strings.Contains(rec.Body.String(), "boss@example.com") {
				t.Fatalf("create: %d %s", rec.Code, rec.Body)
			}
			// The page says what comes next and links to sign-in.
			if !strings.Contains(rec.Body.String(), `<a href="/signin" id="signin-link">Sign in</a>`) || !strings.Contains(rec.Body.String(), "create the first company") {
				t.Fatalf("no way on to sign-in: %s", rec.Body)
			}
			// Used: the link is dead, the administrator signs in.
			if rec := get("/setup?token=" + token); rec.Code != 404 {
				t.Errorf("used link: %d", rec.Code)
			}
			if rec := post(url.Values{"token": {token}, "email": {"two@example.com"}, "password": {"a long enough phrase"}}); rec.Code != 404 {
				t.Errorf("reused token: %d", rec.Code)
			}
			req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username":"boss@example.com","password":"a long enough phrase"}`))
			req.Header.Set("Content-Type", "application/json")
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"token"`) {
				t.Fatalf("login: %d %s", rec.Code, rec.Body)
			}
		})
	}
}
