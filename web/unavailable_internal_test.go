package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
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
