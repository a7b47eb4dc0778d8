package panel

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestCardMFAActionsForEveryMethod: the card offers "Reset 2FA to e-mail"
// for a user without 2FA too, which turns e-mail codes on, and "Disable"
// only while there is something to disable (issue 13, item 6).
func TestCardMFAActionsForEveryMethod(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		admin := f.signedIn("admin")
		olga := f.users["olga"]
		card := body(admin.get("/users/" + strconv.FormatInt(olga.ID, 10)))
		if !strings.Contains(card, "/2fa/reset-to-email") || strings.Contains(card, "/2fa/disable") {
			t.Fatalf("card of a user without 2FA: reset %v, disable %v", strings.Contains(card, "/2fa/reset-to-email"), strings.Contains(card, "/2fa/disable"))
		}
		if res := admin.post("/users/"+strconv.FormatInt(olga.ID, 10)+"/2fa/reset-to-email", nil); res.Code != http.StatusSeeOther {
			t.Fatalf("reset: %d %s", res.Code, body(res))
		}
		u, err := s.UserByID(context.Background(), roster.Scope{All: true}, olga.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.MFAMethod != roster.MFAEmail {
			t.Fatalf("after the reset the method is %q, want email", u.MFAMethod)
		}
		card = body(admin.get("/users/" + strconv.FormatInt(olga.ID, 10)))
		if strings.Contains(card, "/2fa/reset-to-email") || !strings.Contains(card, "/2fa/disable") {
			t.Errorf("card of an e-mail-code user: reset %v, disable %v", strings.Contains(card, "/2fa/reset-to-email"), strings.Contains(card, "/2fa/disable"))
		}
	})
}
