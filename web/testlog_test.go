package web_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// testLog sends the server's log to the current test's log and fails that
// test when the server logs an internal error (a 500): no test may provoke
// one unnoticed (issue 11). A test that means to, opts out with allow500.
type testLog struct {
	mu       sync.Mutex
	t        *testing.T
	allow500 bool
	// failed replaces t.Errorf, for the test of this check.
	failed func(msg string)
}

// newTestLog returns a logger writing to t's log at level Warn and above.
func newTestLog(t *testing.T) (*slog.Logger, *testLog) {
	l := &testLog{t: t}
	text := slog.NewTextHandler(testWriter{l}, &slog.HandlerOptions{Level: slog.LevelWarn})
	return slog.New(failOn500{Handler: text, log: l}), l
}

// testLogger is newTestLog's logger alone.
func testLogger(t *testing.T) *slog.Logger {
	logger, _ := newTestLog(t)
	return logger
}

// use points the log at t (a subtest, or a fuzz iteration).
func (l *testLog) use(t *testing.T) {
	l.mu.Lock()
	l.t = t
	l.mu.Unlock()
}

func (l *testLog) test() *testing.T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.t
}

type testWriter struct{ l *testLog }

func (w testWriter) Write(p []byte) (int, error) {
	w.l.test().Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// failOn500 fails the test on an ERROR record of an internal error: the
// API's "internal error" line or a request answered 500.
type failOn500 struct {
	slog.Handler
	log   *testLog
	attrs []slog.Attr
}

func (h failOn500) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level < slog.LevelError {
		return err
	}
	is500 := r.Message == "internal error"
	check := func(a slog.Attr) bool {
		if a.Key == "status" && a.Value.Kind() == slog.KindInt64 && a.Value.Int64() == 500 {
			is500 = true
		}
		return true
	}
	for _, a := range h.attrs {
		check(a)
	}
	r.Attrs(check)
	h.log.mu.Lock()
	t, allowed, failed := h.log.t, h.log.allow500, h.log.failed
	h.log.mu.Unlock()
	switch {
	case !is500 || allowed:
	case failed != nil:
		failed(r.Message)
	default:
		t.Errorf("the server logged a 500: %s (a test that means to provoke one sets allow500)", r.Message)
	}
	return err
}

func (h failOn500) WithAttrs(as []slog.Attr) slog.Handler {
	return failOn500{Handler: h.Handler.WithAttrs(as), log: h.log, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h failOn500) WithGroup(name string) slog.Handler {
	return failOn500{Handler: h.Handler.WithGroup(name), log: h.log, attrs: h.attrs}
}

// TestLoggedInternalErrorFails checks the check: a 500 in the log fails
// the test that caused it, other errors do not.
func TestLoggedInternalErrorFails(t *testing.T) {
	for i, tc := range []struct {
		log  func(*slog.Logger)
		fail bool
	}{
		{func(l *slog.Logger) { l.Error("internal error", "err", "boom") }, true},
		{func(l *slog.Logger) { l.Error("request", "status", 500) }, true},
		{func(l *slog.Logger) { l.With("status", 500).Error("request") }, true},
		{func(l *slog.Logger) { l.Error("request", "status", 503) }, false},
		{func(l *slog.Logger) { l.Warn("request refused", "status", 500) }, false},
	} {
		logger, l := newTestLog(t)
		failed := false
		l.failed = func(string) { failed = true }
		tc.log(logger)
		if failed != tc.fail {
			t.Errorf("case %d: failed = %v, want %v", i, failed, tc.fail)
		}
	}
}
