package panel

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// freshFixture is a new installation: the Main administrator alone.
func freshFixture(t testing.TB, s *sqlstore.Store, clock *sqlstoretest.Clock) *fixture {
	t.Helper()
	hasher := secure.NewHasher(secure.TestParams, 4)
	f := &fixture{t: t, store: s, clock: clock, users: map[string]*roster.User{}, roles: map[string]*roster.Role{}}
	f.panel = New(Deps{Companies: s, Users: s, Roles: s, Sessions: s, Events: s, Hasher: hasher, Clock: clock.Now, Logger: testLogger(t)})
	f.handler = f.panel.Handler()
	hash, err := hasher.Hash(context.Background(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	main := &roster.User{AuthMethod: roster.AuthEmail, Email: "root@platform.test", FirstName: "Rita", LastName: "Root", PasswordHash: hash}
	if err := s.CreateMainAdmin(context.Background(), main); err != nil {
		t.Fatal(err)
	}
	f.users["main"] = main
	// No companies yet: the fixture's placeholders name the platform.
	f.reseller, f.child = &roster.Company{ID: roster.PlatformCompanyID}, &roster.Company{ID: roster.PlatformCompanyID}
	return f
}

// TestFirstRunGuide (issue 12, item 12): on a fresh installation the Main
// administrator lands on Companies with "Create a company" as step one;
// with a company but nobody in it, step two adds people there; then the
// guidance is gone. Others never see it.
func TestFirstRunGuide(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := freshFixture(t, s, clock)
		c := f.signedIn("main")
		for _, lang := range []string{"en", "ru"} {
			c.lang = lang
			rec := c.get("/")
			if rec.Code != 303 || rec.Header().Get("Location") != "/companies#newco-title" {
				t.Fatalf("%s: home → %d %s", lang, rec.Code, rec.Header().Get("Location"))
			}
			page := body(c.get("/companies"))
			wantIn(t, page, `id="first-run"`)
			wantIn(t, page, map[string]string{"en": "Create a company", "ru": "Создайте компанию"}[lang])
			wantIn(t, page, `href="#co-name"`)
		}
		c.lang = "en"
		if rec := c.post("/companies", url.Values{"name": {"Northwind"}}); rec.Code != 303 {
			t.Fatalf("create company: %d %s", rec.Code, body(rec))
		}
		cos, err := s.Companies(context.Background(), roster.Scope{All: true})
		must(t, err)
		var co *roster.Company
		for _, x := range cos {
			if x.ID != roster.PlatformCompanyID {
				co = x
			}
		}
		if co == nil {
			t.Fatal("no company")
		}
		if rec := c.get("/"); rec.Header().Get("Location") != "/users" {
			t.Fatalf("home after the company → %s", rec.Header().Get("Location"))
		}
		page := body(c.get("/users"))
		wantIn(t, page, `id="first-run"`)
		wantIn(t, page, `href="/users/new?company=`+strconv.FormatInt(co.ID, 10)+`"`)
		// A person in the company: the guidance is done.
		admin, err := s.RoleByKey(context.Background(), co.ID, roster.RoleCompanyAdmin)
		must(t, err)
		u := &roster.User{CompanyID: co.ID, AuthMethod: roster.AuthEmail, Email: "anna@northwind.test", FirstName: "Anna", LastName: "Petrova", PasswordHash: "x"}
		must(t, s.CreateUser(context.Background(), u, []int64{admin.ID}, nil, clock.Now()))
		for _, p := range []string{"/users", "/companies"} {
			if strings.Contains(body(c.get(p)), `id="first-run"`) {
				t.Errorf("%s still guides", p)
			}
		}
	})
}

// TestBrowserFirstRun walks the first run in a browser in both languages
// (desktop and phone) and saves its screens.
func TestBrowserFirstRun(t *testing.T) {
	alloc := newAllocator(t)
	for _, lang := range []string{"en", "ru"} {
		t.Run(lang, func(t *testing.T) {
			s, clock := sqlstoretest.OpenClock(t, sqlstoretest.SQLite)
			f := freshFixture(t, s, clock)
			srv := httptest.NewServer(f.handler)
			defer srv.Close()
			b := newTab(t, alloc, f, srv.URL, "firstrun-"+lang)
			shot := shooter(t, b, lang)
			b.signIn("main")
			if lang == "ru" {
				b.setLang("ru")
				b.open("/users")
			}
			// Signed in, the users page starts with step one.
			want(t, "step one", lang, b.text("#first-run li.current strong"), texts{"en": "Create a company", "ru": "Создайте компанию"})
			shot("30-first-run-users")
			b.clickNav(`#first-run a.button`)
			if b.eval(`location.pathname + location.hash`) != "/companies#newco-title" {
				t.Fatalf("%s: step one went to %s", lang, b.eval(`location.href`))
			}
			want(t, "step one", lang, b.text("#first-run li.current strong"), texts{"en": "Create a company", "ru": "Создайте компанию"})
			shot("31-first-run-company")
			b.do(chromedp.Click(chromedp.CSS(`#first-run a.button`)))
			b.waitFor(`document.activeElement && document.activeElement.id === 'co-name' || location.hash === '#co-name'`)
			b.do(chromedp.SendKeys(chromedp.CSS("#co-name"), "Northwind"))
			b.clickNav(`form[action="/companies"] button[type=submit]`)
			b.open("/users")
			want(t, "step two", lang, b.text("#first-run li.current strong"), texts{"en": "Add people", "ru": "Добавьте пользователей"})
			shot("32-first-run-people")
			b.do(chromedp.EmulateViewport(390, 844))
			defer b.do(chromedp.EmulateViewport(1280, 800))
			for _, p := range []string{"/users", "/companies"} {
				b.open(p)
				b.noSideways(lang, p)
			}
			b.open("/users")
			shot("33-phone-first-run")
		})
	}
}
