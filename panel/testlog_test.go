package panel

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
)

// testLogger writes the panel's errors to stderr, as before, and fails the
// test when the panel answers 500 (it logs "panel" at level Error for an
// internal error and "panel: render error page" when even that fails): no
// test may provoke a 500 unnoticed (issue 11).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(failOn500{Handler: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}), t: t})
}

type failOn500 struct {
	slog.Handler
	t testing.TB
	// failed replaces t.Errorf, for the test of this check.
	failed func(msg string)
}

func (h failOn500) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelError && (r.Message == "panel" || r.Message == "panel: render error page") {
		if h.failed != nil {
			h.failed(r.Message)
		} else {
			h.t.Errorf("the panel answered 500: %s (see the log above)", r.Message)
		}
	}
	return err
}

func (h failOn500) WithAttrs(as []slog.Attr) slog.Handler {
	return failOn500{Handler: h.Handler.WithAttrs(as), t: h.t, failed: h.failed}
}

func (h failOn500) WithGroup(name string) slog.Handler {
	return failOn500{Handler: h.Handler.WithGroup(name), t: h.t, failed: h.failed}
}

func TestLogged500Fails(t *testing.T) {
	failed := ""
	h := failOn500{Handler: slog.NewTextHandler(io.Discard, nil), t: t, failed: func(m string) { failed = m }}
	p := New(Deps{Logger: slog.New(h)})
	p.Logger.Error("record sign-in failure", "err", "x")
	if failed != "" {
		t.Errorf("an error that is not a 500 failed the test")
	}
	p.Logger.Error("panel", "method", "GET", "path", "/", "err", "boom")
	if failed != "panel" {
		t.Errorf("a 500 did not fail the test")
	}
}
