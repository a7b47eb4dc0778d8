package main

import "testing"

// TestLogged500Pattern checks the line the end-to-end tests fail on.
func TestLogged500Pattern(t *testing.T) {
	for line, want := range map[string]bool{
		`time=2026-11-28T11:03:39.345Z level=ERROR msg="internal error" method=GET path=/api/v1/users err="boom"`:               true,
		`time=2026-11-28T11:03:39.345Z level=ERROR msg=request method=GET path=/api/v1/users status=500 duration=1.9ms addr=x`:  true,
		`time=2026-11-28T11:03:39.345Z level=ERROR msg=panel method=GET path=/users err="boom"`:                                 true,
		`time=2026-11-28T11:03:39.345Z level=ERROR msg=request method=GET path=/api/v1/users status=503 duration=1.9ms addr=x`:  false,
		`time=2026-11-28T11:03:39.345Z level=WARN msg=request method=GET path=/api/v1/users status=500 duration=1.9ms`:          false,
		`time=2026-11-28T11:03:39.345Z level=ERROR msg="record sign-in failure" err="x"`:                                        false,
		`time=2026-11-28T11:03:39.345Z level=ERROR msg=request method=GET path=/api/v1/users status=5000 duration=1.9ms addr=x`: false,
		`time=2026-11-28T11:03:39.345Z level=ERROR msg="panel: render error page" err="template"`:                               true,
	} {
		if got := logged500.MatchString(line); got != want {
			t.Errorf("%s: %v, want %v", line, got, want)
		}
	}
}
