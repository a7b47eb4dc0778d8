package web_test

import (
	"bytes"
	"encoding/json"
	"github.com/roster-app/roster/internal/ci"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/roster-app/roster/web/webtest"
)

// TestOpenAPILint lints the served document with Redocly's
// recommended-strict rules (redocly.yaml at the repository root, with its
// accepted exceptions in .redocly.lint-ignore.yaml). ROSTER_TEST_REDOCLY
// names the redocly executable; .ci/run installs the pinned version from
// .ci/openapi-lint and sets it. With CI=true a missing linter fails.
func TestOpenAPILint(t *testing.T) {
	bin := os.Getenv("ROSTER_TEST_REDOCLY")
	if bin == "" {
		ci.Missing(t, "the OpenAPI linter: set ROSTER_TEST_REDOCLY (see .ci/run)")
	}
	doc, err := webtest.Document()
	if err != nil {
		t.Fatal(err)
	}
	// The ignore file names the document by its path relative to itself,
	// so the three files sit together.
	dir := t.TempDir()
	for _, name := range []string{"redocly.yaml", ".redocly.lint-ignore.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	// Indented, so that the linter's line numbers point somewhere useful.
	var pretty bytes.Buffer
	must(t, json.Indent(&pretty, doc, "", "  "))
	must(t, os.WriteFile(filepath.Join(dir, "openapi.json"), pretty.Bytes(), 0o644))
	cmd := exec.Command(bin, "lint", "--format=stylish", "openapi.json")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint of the served OpenAPI document failed: %v\n%s", err, out)
	}
}
