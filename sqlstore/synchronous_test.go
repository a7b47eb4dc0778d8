package sqlstore_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/roster-app/roster/sqlstore"
)

// TestSQLiteSynchronous: the durability setting reaches every connection
// (full by default), and an unknown one is refused at open.
func TestSQLiteSynchronous(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		setting string
		want    int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{"", 2}, {sqlstore.SQLiteSyncFull, 2}, {sqlstore.SQLiteSyncNormal, 1}} {
		s, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: t.TempDir(), SQLiteSynchronous: c.setting, Logger: slog.New(slog.DiscardHandler)})
		must(t, err)
		must(t, s.Migrate(ctx))
		var got int
		must(t, s.DB().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&got))
		if got != c.want {
			t.Errorf("setting %q: PRAGMA synchronous = %d, want %d", c.setting, got, c.want)
		}
		s.Close()
	}
	if s, err := sqlstore.Open(ctx, sqlstore.Config{DataDir: t.TempDir(), SQLiteSynchronous: "off"}); err == nil {
		s.Close()
		t.Fatal("synchronous off was accepted")
	}
}
