package sqlstore_test

import (
	"slices"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestDisabledNotificationTypes (issue 13 item 5): the switched-off types
// are stored and logged once per change, and a switched-off type writes no
// delivery while its subscriptions stay stored.
func TestDisabledNotificationTypes(t *testing.T) {
	t.Parallel()
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		admin := f.user(f.co.ID, "Ada", "Admin", roster.RoleCompanyAdmin)
		victim := f.user(f.co.ID, "Vic", "Tim", roster.RoleEmployee)
		must(t, s.SetNotificationPrefs(f.ctx, admin.ID, &roster.NotificationPrefs{TelegramChatID: "-100",
			Subscriptions: []roster.Subscription{{EventType: roster.EventUserBlocked, Channels: []string{roster.ChannelTelegram}}}}))

		off, err := s.DisabledNotificationTypes(f.ctx)
		must(t, err)
		if len(off) != 0 {
			t.Fatalf("a fresh installation has %v switched off", off)
		}
		if err := s.SetDisabledNotificationTypes(f.ctx, f.co.ID, []string{"nope"}); roster.ErrorCode(err) != roster.EINVALID {
			t.Fatalf("unknown type: %v", err)
		}
		ctx := f.actor(admin)
		disabled := []string{roster.EventUserDeleted, roster.EventUserBlocked}
		must(t, s.SetDisabledNotificationTypes(ctx, f.co.ID, disabled))
		must(t, s.SetDisabledNotificationTypes(ctx, f.co.ID, disabled)) // no change: no event
		off, err = s.DisabledNotificationTypes(f.ctx)
		must(t, err)
		if !slices.Equal(off, []string{roster.EventUserBlocked, roster.EventUserDeleted}) {
			t.Fatalf("switched off %v (catalog order expected)", off)
		}
		page, err := s.Events(f.ctx, all, roster.EventFilter{Type: roster.EventNotificationTypesChanged})
		must(t, err)
		if len(page.Items) != 1 || page.Items[0].ActorID == nil || *page.Items[0].ActorID != admin.ID {
			t.Fatalf("events %+v", page.Items)
		}

		if _, err := s.BlockUser(ctx, all, victim.ID, "gone"); err != nil {
			t.Fatal(err)
		}
		if n := f.count(`SELECT count(*) FROM notification_deliveries`); n != 0 {
			t.Fatalf("%d deliveries of a switched-off type", n)
		}
		p, err := s.NotificationPrefs(f.ctx, admin.ID)
		must(t, err)
		if len(p.Subscriptions) != 1 {
			t.Fatalf("the subscription was dropped: %+v", p)
		}

		must(t, s.SetDisabledNotificationTypes(ctx, f.co.ID, []string{}))
		if _, err := s.UnblockUser(ctx, all, victim.ID, "back"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BlockUser(ctx, all, victim.ID, "gone again"); err != nil {
			t.Fatal(err)
		}
		if n := f.count(`SELECT count(*) FROM notification_deliveries`); n != 1 {
			t.Fatalf("%d deliveries once switched on, want 1", n)
		}
	})
}
