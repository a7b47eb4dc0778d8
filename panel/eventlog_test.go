package panel

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestEventLogForPeople (issue 12, item 7): the log is filtered by a person
// found with the users list's search, by type and by dates; "added to a
// group" names the group; calls and dialogues are hidden unless asked;
// panel sign-ins record the client's address; comments show under their
// event with their author.
func TestEventLogForPeople(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		f := newFixture(t, s, clock)
		ctx := context.Background()
		olga := f.users["olga"]
		admin := f.users["admin"]
		actx := roster.NewContextWithActor(ctx, &roster.Actor{User: admin, Scope: roster.Scope{CompanyIDs: []int64{f.reseller.ID}}})
		g := &roster.WorkGroup{CompanyID: f.reseller.ID, Kind: roster.KindQueue, Name: "Night desk"}
		must(t, s.CreateWorkGroup(actx, g))
		_, err := s.AddWorkGroupMembers(actx, roster.Scope{CompanyIDs: []int64{f.reseller.ID}}, roster.KindQueue, g.ID, []int64{olga.ID})
		must(t, err)
		_, err = s.RecordCall(actx, &roster.Call{CompanyID: f.reseller.ID, CallID: "call-1", UserID: olga.ID, Direction: "inbound", DurationSeconds: 40})
		must(t, err)

		// Olga signs in to the panel from her address.
		if rec := f.signInFrom("203.0.113.44", olga.Email, testPassword); rec.Code != 303 {
			t.Fatalf("olga sign-in: %d", rec.Code)
		}
		c := f.signedIn("admin")
		for _, lang := range []string{"en", "ru"} {
			c.lang = lang
			// A name typed into the person filter finds Olga alone.
			res := c.get("/events?person=" + url.QueryEscape("ivanova"))
			page := body(res)
			if res.Code != 200 {
				t.Fatalf("%s: %d", lang, res.Code)
			}
			wantIn(t, page, map[string]string{"en": "Events of Olga Ivanova", "ru": "Ivanova"}[lang])
			wantIn(t, page, `value="`+strconv.FormatInt(olga.ID, 10)+`" data-person-id`)
			wantIn(t, page, "203.0.113.44")
			wantIn(t, page, map[string]string{"en": "Added to a group", "ru": "Добавлен"}[lang])
			wantIn(t, page, map[string]string{"en": "Queue “Night desk”", "ru": "«Night desk»"}[lang])
			// The call is hidden, and the page says so.
			if strings.Contains(page, `data-event="call.recorded"`) {
				t.Fatalf("%s: a call is shown by default", lang)
			}
			wantIn(t, page, `id="high-volume-note"`)
			page = body(c.get("/events?all=1&user=" + strconv.FormatInt(olga.ID, 10)))
			wantIn(t, page, `data-event="call.recorded"`)
			page = body(c.get("/events?type=call.recorded"))
			wantIn(t, page, `data-event="call.recorded"`)
			// A search that names several people lists them to choose from;
			// one naming no one says so.
			page = body(c.get("/events?person=northwind"))
			wantIn(t, page, map[string]string{"en": "Several people match", "ru": "Подходят несколько"}[lang])
			wantIn(t, page, `data-pick-person="`+strconv.FormatInt(olga.ID, 10)+`"`)
			page = body(c.get("/events?person=nobody-like-this"))
			wantIn(t, page, `id="person-none"`)
			// The live search's fragment lists even a single match.
			page = body(c.get("/events?fragment=1&person=ivanova"))
			if !strings.Contains(page, `data-pick-person="`+strconv.FormatInt(olga.ID, 10)+`"`) || strings.Contains(page, "<html") {
				t.Fatalf("%s: fragment = %s", lang, page)
			}
		}

		// A comment shows under its event with its author, in the log and on
		// the user card.
		ev, err := s.Events(ctx, roster.Scope{All: true}, roster.EventFilter{UserID: &olga.ID, Type: roster.EventWorkGroupMemberAdded})
		must(t, err)
		if len(ev.Items) != 1 {
			t.Fatalf("member events: %d", len(ev.Items))
		}
		c.lang = "en"
		if rec := c.post("/events/"+strconv.FormatInt(ev.Items[0].ID, 10)+"/comments", url.Values{"body": {"Moved for the winter."}, "return": {"/events"}}); rec.Code != 303 {
			t.Fatalf("comment: %d", rec.Code)
		}
		for _, p := range []string{"/events?user=" + strconv.FormatInt(olga.ID, 10), "/users/" + strconv.FormatInt(olga.ID, 10)} {
			page := body(c.get(p))
			wantIn(t, page, "Moved for the winter.")
			wantIn(t, page, `class="avatar small initials" aria-hidden="true">AP</span> <strong>Anna Petrova</strong>`)
		}
	})
}

func wantIn(t *testing.T, page, s string) {
	t.Helper()
	if !strings.Contains(page, s) {
		t.Fatalf("page lacks %q", s)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
