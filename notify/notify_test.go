package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/roster-app/roster/notify"
)

// request is what a fake API server received.
type request struct {
	Method, Path, ContentType, Auth string
	Body                            map[string]any
	Raw                             string
}

// fake answers every request with status and body, recording it.
type fake struct {
	mu     sync.Mutex
	reqs   []request
	status int
	body   string
	srv    *httptest.Server
}

func newFake(t *testing.T, status int, body string) *fake {
	f := &fake{status: status, body: body}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rq := request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Auth: r.Header.Get("Authorization"), Raw: string(raw)}
		if err := json.Unmarshal(raw, &rq.Body); err != nil {
			t.Errorf("body is not JSON: %q", raw)
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, rq)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) only(t *testing.T) request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != 1 {
		t.Fatalf("%d requests, want 1: %+v", len(f.reqs), f.reqs)
	}
	return f.reqs[0]
}

const (
	tgToken    = "123456:AAH-secret_bot_token"
	slackToken = "xoxb-secret-slack-token"
	text       = "Roster: User blocked: Иван Петров (by Admin)\nComment: \"left\" <now> & co"
)

func TestTelegramSend(t *testing.T) {
	f := newFake(t, 200, `{"ok":true,"result":{"message_id":1}}`)
	tg := &notify.Telegram{BaseURL: f.srv.URL + "/", Client: f.srv.Client()}
	if err := tg.Send(context.Background(), tgToken, "-1001234", text); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	if r.Method != http.MethodPost || r.Path != "/bot"+tgToken+"/sendMessage" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	if r.ContentType != "application/json; charset=utf-8" || r.Auth != "" {
		t.Errorf("headers: content type %q, authorization %q", r.ContentType, r.Auth)
	}
	if len(r.Body) != 2 || r.Body["chat_id"] != "-1001234" || r.Body["text"] != text {
		t.Errorf("body %s", r.Raw)
	}
}

func TestSlackSend(t *testing.T) {
	f := newFake(t, 200, `{"ok":true,"channel":"C123","ts":"1.2"}`)
	sl := &notify.Slack{BaseURL: f.srv.URL, Client: f.srv.Client()}
	if err := sl.Send(context.Background(), slackToken, "C123", text); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	if r.Method != http.MethodPost || r.Path != "/api/chat.postMessage" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	if r.ContentType != "application/json; charset=utf-8" || r.Auth != "Bearer "+slackToken {
		t.Errorf("headers: content type %q, authorization %q", r.ContentType, r.Auth)
	}
	if len(r.Body) != 2 || r.Body["channel"] != "C123" || r.Body["text"] != text {
		t.Errorf("body %s", r.Raw)
	}
	if strings.Contains(r.Raw, slackToken) {
		t.Error("the token is in the body")
	}
}

// checkErr fails unless err holds every want and not the token.
func checkErr(t *testing.T, err error, token string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error %q holds the token", err)
	}
}

func TestTelegramErrors(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		want       []string
	}{
		{"500", `internal error`, 500, []string{"telegram", "HTTP 500", "internal error"}},
		{"401", `{"ok":false,"error_code":401,"description":"Unauthorized"}`, 401, []string{"telegram", "HTTP 401", "Unauthorized"}},
		{"not ok", `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`, 200, []string{"telegram", "Bad Request: chat not found"}},
		{"echoed token", `{"ok":false,"description":"bad bot ` + tgToken + `"}`, 200, []string{"telegram", "bad bot"}},
		{"echoed token 500", `no bot ` + tgToken, 502, []string{"HTTP 502", "no bot"}},
		{"not JSON", `<html>`, 200, []string{"telegram", "bad answer"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.status, tc.body)
			err := (&notify.Telegram{BaseURL: f.srv.URL, Client: f.srv.Client()}).Send(context.Background(), tgToken, "1", "hi")
			checkErr(t, err, tgToken, tc.want...)
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		f := newFake(t, 200, `{"ok":true}`)
		f.srv.Close()
		err := (&notify.Telegram{BaseURL: f.srv.URL}).Send(context.Background(), tgToken, "1", "hi")
		checkErr(t, err, tgToken, "telegram", "<token>")
	})
}

func TestSlackErrors(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		want       []string
	}{
		{"500", `upstream failed`, 500, []string{"slack", "HTTP 500", "upstream failed"}},
		{"429", `{"ok":false,"error":"ratelimited"}`, 429, []string{"slack", "HTTP 429", "ratelimited"}},
		{"not ok", `{"ok":false,"error":"channel_not_found"}`, 200, []string{"slack", "channel_not_found"}},
		{"echoed token", `{"ok":false,"error":"invalid_auth ` + slackToken + `"}`, 200, []string{"slack", "invalid_auth"}},
		{"echoed token 403", `token ` + slackToken + ` revoked`, 403, []string{"HTTP 403", "revoked"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.status, tc.body)
			err := (&notify.Slack{BaseURL: f.srv.URL, Client: f.srv.Client()}).Send(context.Background(), slackToken, "C1", "hi")
			checkErr(t, err, slackToken, tc.want...)
		})
	}
}
