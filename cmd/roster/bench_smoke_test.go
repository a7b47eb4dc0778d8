package main

import (
	"context"
	"os/exec"
	"testing"
)

// TestBenchSmoke is CI's short run of roster bench: a small database made by
// roster dev load, the real server, every kind of request for a second, and
// no request may fail (speed is not asserted). The server's log is checked
// for 500s by startServer.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := rosterBinary(t)
	dbArgs := []string{"--data", t.TempDir()}
	const password = "smoke-Pass-7319-qz"
	load := exec.Command(bin, append([]string{"dev", "load", "--users", "2000", "--companies", "2", "--big", "1000",
		"--bench-password", password}, dbArgs...)...)
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("dev load: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base := startServer(t, ctx, bin, dbArgs)
	bench := exec.Command(bin, "bench", "--url", base, "--password", password, "--duration", "1s",
		"--kinds", "get:4,list:2,deep:2,search:2,update:2,create:2,signin:1", "--fail-on-errors")
	out, err := bench.CombinedOutput()
	if err != nil {
		t.Fatalf("roster bench: %v\n%s", err, out)
	}
	t.Logf("roster bench:\n%s", out)
}
