// Package ci is test support for parts a test needs from outside Go
// (PostgreSQL, Chromium, Node, pgbouncer, PostgreSQL's server binaries):
// on a developer's machine a missing part skips the test; on CI, where
// .ci/run installs every part and sets CI=true, it fails the test.
package ci

import (
	"fmt"
	"os"
	"testing"
)

// Missing stops tb for a missing part: a failure on CI, a skip elsewhere.
// The message says what is missing and how to provide it.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("required on CI: %s", msg)
		return
	}
	tb.Skip(msg)
}
