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

// unreachableUsers is a store whose ClassifyError says every error means
// an unreachable database (roster.ErrorClassifier).
type unreachableUsers struct{ roster.UserService }

func (unreachableUsers) ClassifyError(err error) error {
	return fmt.Errorf("%w: %w", roster.Errorf(roster.EUNAVAILABLE, "The database cannot be reached."), err)
}

// TestUnreachableDatabaseIs503: an error the store classifies as an
// unreachable database (a failover under way) answers 503 problem+json
// with Retry-After on the API and on SCIM, and is logged as a warning with
// its cause, not as an internal error.
func TestUnreachableDatabaseIs503(t *testing.T) {
	var logs bytes.Buffer
	s := NewServer(Deps{Users: unreachableUsers{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	lost := fmt.Errorf("session: %w", fmt.Errorf("unexpected EOF"))
	rec := httptest.NewRecorder()
	s.adapt(func(http.ResponseWriter, *http.Request) error { return lost }).
		ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/users", nil))
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 503 || p.Code != roster.EUNAVAILABLE ||
		rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("API: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rec = httptest.NewRecorder()
	s.scimRenderError(rec, httptest.NewRequest("GET", "/scim/v2/Users", nil), lost)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("SCIM: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "unexpected EOF") {
		t.Errorf("log:\n%s", logs.String())
	}
	// A domain error is no outage, whatever the store says.
	rec = httptest.NewRecorder()
	s.adapt(func(http.ResponseWriter, *http.Request) error {
		return roster.Errorf(roster.ENOTFOUND, "No such user.")
	}).
		ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/users/7", nil))
	if rec.Code != 404 {
		t.Errorf("not found answered %d", rec.Code)
	}
}
