package panel

import (
	"net/http/httptest"
	"strings"
	"testing"

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
