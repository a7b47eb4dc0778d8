package panel

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/panel/i18n"
)

// errorCode is a field error or refusal code the server can produce, with
// the field it was seen on ("" when not literal) and where.
type errorCode struct {
	code, field, at string
}

// serverErrorCodes walks the Go source of the packages whose errors reach
// the panel — the domain, the workflows, the store and the panel itself —
// and returns every literal field-error and refusal code: Validation.Add
// calls, FieldError and Refusal literals, and the store's and panel's
// small helpers that take a code.
func serverErrorCodes(t *testing.T) []errorCode {
	t.Helper()
	var out []errorCode
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	// Helpers that take a code: name → (index of the code, index of the field or -1).
	helpers := map[string][2]int{"refuse": {1, -1}, "invalidField": {1, 0}, "errAvatar": {0, -1}}
	for _, dir := range []string{"..", "../app", "../sqlstore", "."} {
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, name, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					var fn string
					switch fun := n.Fun.(type) {
					case *ast.SelectorExpr:
						fn = fun.Sel.Name
					case *ast.Ident:
						fn = fun.Name
					}
					at := fset.Position(n.Pos()).String()
					if fn == "Add" && len(n.Args) == 3 && !translated(n.Args[2]) {
						if code, ok := lit(n.Args[1]); ok {
							field, _ := lit(n.Args[0])
							out = append(out, errorCode{code, field, at})
						}
					}
					if h, ok := helpers[fn]; ok && len(n.Args) > h[0] {
						if code, ok := lit(n.Args[h[0]]); ok {
							field := ""
							if h[1] >= 0 {
								field, _ = lit(n.Args[h[1]])
							}
							out = append(out, errorCode{code, field, at})
						}
					}
				case *ast.CompositeLit:
					var typ string
					switch ty := n.Type.(type) {
					case *ast.Ident:
						typ = ty.Name
					case *ast.SelectorExpr:
						typ = ty.Sel.Name
					}
					if typ != "FieldError" && typ != "Refusal" {
						return true
					}
					var code, field string
					for _, e := range n.Elts {
						kv, ok := e.(*ast.KeyValueExpr)
						if !ok {
							continue
						}
						switch k, _ := kv.Key.(*ast.Ident); k.Name {
						case "Code":
							code, _ = lit(kv.Value)
						case "Field":
							field, _ = lit(kv.Value)
						}
					}
					if code != "" {
						out = append(out, errorCode{code, field, fset.Position(n.Pos()).String()})
					}
				}
				return true
			})
		}
	}
	return out
}

// translated reports whether a message is already in the reader's
// language: the panel's own errors built with i18n.T.
func translated(e ast.Expr) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "i18n"
}

// TestEveryServerErrorHasARussianText: no English server text reaches the
// Russian panel (issue 12, item 10). Every field-error and refusal code the
// server produces has a Russian text (for its field, or for the code),
// and every error code has a Russian message; otherwise the panel would
// show the domain's English message.
func TestEveryServerErrorHasARussianText(t *testing.T) {
	codes := serverErrorCodes(t)
	if len(codes) < 40 {
		t.Fatalf("found only %d error codes in the source: the walk is broken", len(codes))
	}
	// Codes whose message the panel writes in the reader's language.
	inLanguage := map[string]bool{"allowlist_entries": true}
	missing := map[string][]string{}
	for _, c := range codes {
		if inLanguage[c.code] {
			continue
		}
		if i18n.Has(i18n.RU, "field."+c.code) || (c.field != "" && i18n.Has(i18n.RU, "field."+c.field+"."+c.code)) {
			continue
		}
		missing[c.code] = append(missing[c.code], c.at)
	}
	var names []string
	for code := range missing {
		names = append(names, code)
	}
	sort.Strings(names)
	for _, code := range names {
		t.Errorf("no Russian text for error code %q (add field.%s to panel/i18n): produced at %s", code, code, strings.Join(missing[code], ", "))
	}
	for _, code := range []string{roster.ECONFLICT, roster.EFORBIDDEN, roster.EINTERNAL, roster.EINVALID, roster.ENOTFOUND, roster.ERATELIMIT, roster.EUNAUTHORIZED} {
		key := "error." + code
		if code == roster.EINTERNAL {
			key = "error.internal"
		}
		if !i18n.Has(i18n.RU, key) || !i18n.Has(i18n.EN, key) {
			t.Errorf("no text for error %s in both languages", code)
		}
	}
}
