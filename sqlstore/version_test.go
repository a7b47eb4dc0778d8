package sqlstore

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestUpdatesBumpVersion reads the package's sources: every statement
// that updates users rows bumps their version itself (updateUsers). The
// users_version trigger would bump it too, but on SQLite with a second
// write of each row.
func TestUpdatesBumpVersion(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	update := regexp.MustCompile(`(?i)\bUPDATE\s+users\b`)
	fset := token.NewFileSet()
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING || !update.MatchString(lit.Value) {
				return true
			}
			found++
			if !strings.Contains(lit.Value, "version = version + 1") {
				t.Errorf("%s: an update of users that does not bump version (start it with updateUsers): %s",
					fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
	}
	if found == 0 {
		t.Fatal("found no update of users, not even updateUsers: the scan reads nothing")
	}
}
