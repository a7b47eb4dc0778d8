package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/roster-app/roster"
)

func TestClientAddress(t *testing.T) {
	s := NewServer(Deps{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	for _, tc := range []struct {
		name, remote, xff, want string
	}{
		{"Direct", "203.0.113.5:4000", "", "203.0.113.5"},
		{"UntrustedPeerIgnoresHeader", "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"TrustedProxy", "10.0.0.2:4000", "198.51.100.1", "198.51.100.1"},
		{"ChainOfProxies", "10.0.0.2:4000", "192.0.2.9, 198.51.100.1, 10.0.0.7", "198.51.100.1"},
		{"SpoofedLeftmostIgnored", "10.0.0.2:4000", "1.2.3.4, 198.51.100.1", "198.51.100.1"},
		{"GarbageHeader", "10.0.0.2:4000", "not-an-ip", "10.0.0.2"},
		{"IPv6", "[2001:db8::1]:4000", "", "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := s.remoteAddr(r); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestErrorsAndHeaders(t *testing.T) {
	s := NewServer(Deps{})
	mux := http.NewServeMux()
	mux.Handle("/panic", s.adapt(func(http.ResponseWriter, *http.Request) error { panic("boom") }))
	mux.Handle("/internal", s.adapt(func(http.ResponseWriter, *http.Request) error {
		return &roster.Error{Code: "weird", Message: "secret detail"}
	}))
	mux.Handle("/limited", s.adapt(func(http.ResponseWriter, *http.Request) error {
		return roster.Errorf(roster.ERATELIMIT, "Slow down.")
	}))
	h := securityHeaders(s.recoverPanics(mux))
	for _, tc := range []struct {
		path   string
		status int
	}{{"/panic", 500}, {"/internal", 500}, {"/limited", 429}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, rec.Code, tc.status)
		}
		if rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: content type %q", tc.path, rec.Header().Get("Content-Type"))
		}
		if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "boom") {
			t.Errorf("%s: internal details leaked: %s", tc.path, rec.Body)
		}
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != tc.status || p.Type == "" || p.Title == "" {
			t.Errorf("%s: problem %+v (%v)", tc.path, p, err)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: security headers missing: %v", tc.path, rec.Header())
		}
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("API answer is cacheable: %v", rec.Header())
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username": "a", "password": "b", "otp": 1}`))
	req.Header.Set("Content-Type", "application/json")
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), `"field":"otp"`) {
		t.Errorf("unknown field: %d %s", rec.Code, rec.Body)
	}
}
