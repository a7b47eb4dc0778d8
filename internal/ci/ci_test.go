package ci

import (
	"testing"
)

// recorder is a testing.TB that notes how Missing stopped it.
type recorder struct {
	testing.TB
	failed, skipped string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.failed = format }
func (r *recorder) Skip(a ...any)                  { r.skipped = a[0].(string) }

func TestMissing(t *testing.T) {
	t.Setenv("CI", "true")
	var r recorder
	Missing(&r, "Chromium at %s", "/nowhere")
	if r.failed == "" || r.skipped != "" {
		t.Errorf("on CI: failed %q, skipped %q; want a failure", r.failed, r.skipped)
	}
	t.Setenv("CI", "")
	r = recorder{}
	Missing(&r, "Chromium at %s", "/nowhere")
	if r.skipped != "Chromium at /nowhere" || r.failed != "" {
		t.Errorf("off CI: failed %q, skipped %q; want a skip", r.failed, r.skipped)
	}
}
