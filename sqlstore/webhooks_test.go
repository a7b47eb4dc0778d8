package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// hook subscribes a webhook of company to user.blocked.
func (f *fixture) hook(companyID int64) *roster.Webhook {
	f.t.Helper()
	w := &roster.Webhook{CompanyID: companyID, URL: "https://hooks.example.com/in", EventTypes: []string{roster.EventUserBlocked}, Active: true}
	must(f.t, f.s.CreateWebhook(f.ctx, w, "v1:sealed"))
	return w
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	must(f.t, f.s.DB().QueryRowContext(f.ctx, query, args...).Scan(&n))
	return n
}

// TestWebhookDeliveryInEventTransaction: a delivery and its job are written
// with the event that causes them, and a change rolled back after its event
// was written leaves neither.
func TestWebhookDeliveryInEventTransaction(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		w := f.hook(f.co.ID)
		a, b := f.user(f.co.ID, "Anna", "First", roster.RoleEmployee), f.user(f.co.ID, "Boris", "Second", roster.RoleEmployee)

		// Blocking b fails inside the transaction, after a's block, its
		// event and its delivery were written.
		fail := map[string][]string{
			sqlstoretest.SQLite: {fmt.Sprintf(`CREATE TRIGGER fail_block BEFORE UPDATE OF status ON users WHEN NEW.id = %d
				BEGIN SELECT RAISE(ABORT, 'refused by test'); END`, b.ID)},
			sqlstoretest.Postgres: {`CREATE FUNCTION fail_block() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`,
				fmt.Sprintf(`CREATE TRIGGER fail_block BEFORE UPDATE OF status ON users FOR EACH ROW WHEN (NEW.id = %d) EXECUTE FUNCTION fail_block()`, b.ID)},
		}[s.Dialect()]
		for _, q := range fail {
			_, err := s.DB().ExecContext(f.ctx, q)
			must(t, err)
		}
		if _, err := s.BulkUsers(f.ctx, all, roster.BulkAction{Action: roster.BulkBlock, UserIDs: []int64{a.ID, b.ID}, Comment: "test"}); err == nil {
			t.Fatal("the bulk block went through the failing trigger")
		}
		if n := f.count(`SELECT count(*) FROM webhook_deliveries`); n != 0 {
			t.Fatalf("%d deliveries after a rolled-back change", n)
		}
		if n := f.count(`SELECT count(*) FROM jobs WHERE kind = $1`, roster.WebhookJobKind); n != 0 {
			t.Fatalf("%d webhook jobs after a rolled-back change", n)
		}
		if u, err := s.UserByID(f.ctx, all, a.ID); err != nil || u.Status != roster.StatusActive {
			t.Fatalf("a is %v, %v", u.Status, err)
		}

		// The same change, committed, writes one delivery and one job per
		// event, pointing at each other.
		_, err := s.DB().ExecContext(f.ctx, `DROP TRIGGER fail_block`+map[string]string{sqlstoretest.Postgres: ` ON users`}[s.Dialect()])
		must(t, err)
		_, err = s.BulkUsers(f.ctx, all, roster.BulkAction{Action: roster.BulkBlock, UserIDs: []int64{a.ID, b.ID}, Comment: "test"})
		must(t, err)
		if n := f.count(`SELECT count(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id AND e.type = 'user.blocked'
			JOIN jobs j ON j.id = d.job_id AND j.kind = $1 WHERE d.webhook_id = $2`, roster.WebhookJobKind, w.ID); n != 2 {
			t.Fatalf("%d deliveries with their event and job, want 2", n)
		}
	})
}

func TestWebhookStore(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		other := f.company("Other", nil)
		admin := f.user(f.co.ID, "Alma", "Admin", roster.RoleCompanyAdmin)
		ctx := f.actor(admin)
		w := &roster.Webhook{CompanyID: f.co.ID, URL: "https://hooks.example.com/in?key=s3cr3t", EventTypes: []string{roster.EventUserBlocked, roster.EventUserCreated}, Active: true}
		must(t, s.CreateWebhook(ctx, w, "v1:sealed"))
		if w.ID == 0 || w.CreatedBy == nil || *w.CreatedBy != admin.ID {
			t.Fatalf("created %+v", w)
		}
		mine, theirs := roster.Scope{CompanyIDs: []int64{f.co.ID}}, roster.Scope{CompanyIDs: []int64{other.ID}}

		t.Run("TenantIsolation", func(t *testing.T) {
			_, err := s.WebhookByID(f.ctx, theirs, w.ID)
			wantCode(t, err, roster.ENOTFOUND)
			on := true
			_, err = s.UpdateWebhook(f.ctx, theirs, w.ID, roster.WebhookUpdate{Active: &on})
			wantCode(t, err, roster.ENOTFOUND)
			wantCode(t, s.DeleteWebhook(f.ctx, theirs, w.ID), roster.ENOTFOUND)
			_, err = s.WebhookDeliveries(f.ctx, theirs, w.ID, roster.WebhookDeliveryFilter{})
			wantCode(t, err, roster.ENOTFOUND)
			_, err = s.ResendWebhookDelivery(f.ctx, theirs, w.ID, 1)
			wantCode(t, err, roster.ENOTFOUND)
			if ws, err := s.Webhooks(f.ctx, theirs, f.co.ID); err != nil || len(ws) != 0 {
				t.Fatalf("another scope lists %v, %v", ws, err)
			}
			if ws, err := s.Webhooks(f.ctx, mine, f.co.ID); err != nil || len(ws) != 1 || ws[0].URL != w.URL {
				t.Fatalf("own list %v, %v", ws, err)
			}
			// Another company's events make no delivery.
			u := f.user(other.ID, "Olga", "Other", roster.RoleEmployee)
			_, err = s.BlockUser(f.ctx, all, u.ID, "x")
			must(t, err)
			if n := f.count(`SELECT count(*) FROM webhook_deliveries`); n != 0 {
				t.Fatalf("%d deliveries from another company's events", n)
			}
		})

		t.Run("EventsOfChanges", func(t *testing.T) {
			off := false
			types := []string{roster.EventUserDeleted}
			_, err := s.UpdateWebhook(ctx, mine, w.ID, roster.WebhookUpdate{Active: &off, EventTypes: &types})
			must(t, err)
			got, err := s.WebhookByID(f.ctx, mine, w.ID)
			must(t, err)
			if got.Active || len(got.EventTypes) != 1 || got.EventTypes[0] != roster.EventUserDeleted {
				t.Fatalf("updated %+v", got)
			}
			must(t, s.DeleteWebhook(ctx, mine, w.ID))
			for _, typ := range []string{roster.EventWebhookCreated, roster.EventWebhookUpdated, roster.EventWebhookDeleted} {
				page, err := s.Events(f.ctx, mine, roster.EventFilter{Type: typ})
				must(t, err)
				if len(page.Items) != 1 {
					t.Fatalf("%d %s events", len(page.Items), typ)
				}
				e := page.Items[0]
				if e.ActorID == nil || *e.ActorID != admin.ID || e.TargetName != "https://hooks.example.com/in" {
					t.Errorf("%s: actor %v, target %q (the query string stays out of the log)", typ, e.ActorID, e.TargetName)
				}
			}
		})

		t.Run("Limit", func(t *testing.T) {
			for i := 0; i < roster.MaxWebhooks; i++ {
				f.hook(other.ID)
			}
			err := s.CreateWebhook(f.ctx, &roster.Webhook{CompanyID: other.ID, URL: "https://x.example.com/", EventTypes: []string{roster.EventUserBlocked}, Active: true}, "v1:x")
			wantField(t, err, roster.ECONFLICT, "url")
		})
	})
}
