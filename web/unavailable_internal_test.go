package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
)

// TestUnavailableIs503: a change the store gave up on because the database
// stayed busy (EUNAVAILABLE) answers 503 with Retry-After, never 500.
func TestUnavailableIs503(t *testing.T) {
	s := NewServer(Deps{})
	h := s.adapt(func(_ http.ResponseWriter, _ *http.Request) error {
		return roster.Errorf(roster.EUNAVAILABLE, "The database is busy; try again in a moment.")
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("PUT", "/api/v1/users/7/roles", nil))
	if rec.Code != 503 {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	if n, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != 503 || p.Code != roster.EUNAVAILABLE || p.Detail == "" {
		t.Errorf("problem %+v (%v)", p, err)
	}
}

// TestClientGoneIsNotAServerError: a request whose client went away while
// the store worked (its context canceled) is logged at info level with
// 499, never as a 500 ERROR.
func TestClientGoneIsNotAServerError(t *testing.T) {
	var logs bytes.Buffer
	s := NewServer(Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := s.adapt(func(_ http.ResponseWriter, r *http.Request) error {
		<-r.Context().Done()
		return fmt.Errorf("load user: %w", r.Context().Err())
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/users/7", nil).WithContext(ctx))
	if rec.Code != StatusClientClosedRequest {
		t.Errorf("status %d, want %d", rec.Code, StatusClientClosedRequest)
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("log:\n%s", logs.String())
	}
}
