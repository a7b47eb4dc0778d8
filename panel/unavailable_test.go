package panel

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestUnavailablePage: a change the store gave up on because the database
// stayed busy shows a "try again" page with 503 and Retry-After.
func TestUnavailablePage(t *testing.T) {
	s, clock := sqlstoretest.OpenClock(t, sqlstoretest.SQLite)
	f := newFixture(t, s, clock)
	busy := roster.Errorf(roster.EUNAVAILABLE, "The database is busy; try again in a moment.")
	for _, tc := range []struct{ method, want string }{
		{"GET", `<a href="/users?q=ann">Try again</a>`},
		{"POST", "send the form again"},
	} {
		rec := httptest.NewRecorder()
		f.panel.renderError(rec, httptest.NewRequest(tc.method, "/users?q=ann", nil), busy)
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: status %d, Retry-After %q", tc.method, rec.Code, rec.Header().Get("Retry-After"))
		}
		if b := rec.Body.String(); !strings.Contains(b, tc.want) || !strings.Contains(b, "busy") {
			t.Errorf("%s: page lacks %q: %s", tc.method, tc.want, b)
		}
	}
}

// TestUnreachableDatabasePage: an error saying the database could not be
// reached (here a connection ended by a dying server) shows the same "try
// again" page with 503 and Retry-After, not an internal error.
func TestUnreachableDatabasePage(t *testing.T) {
	s, clock := sqlstoretest.OpenClock(t, sqlstoretest.SQLite)
	f := newFixture(t, s, clock)
	lost := fmt.Errorf("session: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01",
		Message: "terminating connection due to unexpected postmaster exit"})
	rec := httptest.NewRecorder()
	f.panel.renderError(rec, httptest.NewRequest("GET", "/users", nil), lost)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if b := rec.Body.String(); !strings.Contains(b, `<a href="/users">Try again</a>`) {
		t.Errorf("page: %s", b)
	}
}
