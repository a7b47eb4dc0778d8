package web

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// SCIM filters (RFC 7644 §3.4.2.2) are parsed by
// github.com/scim2/filter-parser/v2 and evaluated here against the JSON
// representation of a resource, so that filtering sees exactly what a
// client reads. Attribute names compare case-insensitively, and so do
// string values, except of id and externalId, which RFC 7643 makes
// caseExact.

// errInvalidFilter is a filter that does not parse.
type scimFilterError struct{ msg string }

func (e *scimFilterError) Error() string { return e.msg }

// ParseSCIMFilter parses a filter; the error is a *scimFilterError.
func ParseSCIMFilter(raw string) (filter.Expression, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, &scimFilterError{"The filter is empty."}
	}
	if len(raw) > 4096 {
		return nil, &scimFilterError{"The filter is longer than 4096 bytes."}
	}
	e, err := parseFilterSafely(liftSubAttributes(raw))
	if err != nil {
		return nil, &scimFilterError{fmt.Sprintf("The filter does not parse: %v", err)}
	}
	return e, nil
}

// liftSubAttributes rewrites a value path followed by a sub-attribute's
// comparison — emails[type eq "work"].value eq "x", which identity
// providers send though RFC 7644's filter grammar has no such form — into
// the filter the grammar has for it: emails[type eq "work" and value eq "x"].
// The parser takes no parentheses inside brackets, so a value filter with
// or or not is left as it is (and refused); so is anything else.
func liftSubAttributes(raw string) string {
	var out []byte
	open := -1 // where in out the current value filter starts
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '"':
			j := i + 1
			for j < len(raw) && raw[j] != '"' {
				if raw[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j, len(raw)-1)
			out = append(out, raw[i:j+1]...)
			i = j
			continue
		case '[':
			out = append(out, c)
			open = len(out)
			continue
		case ']':
			if open >= 0 && i+1 < len(raw) && raw[i+1] == '.' {
				if cmp, n := subComparison(raw[i+2:]); n > 0 && onlyAnd(string(out[open:])) {
					out = append(out, " and "+cmp+"]"...)
					i += 1 + n
					open = -1
					continue
				}
			}
			open = -1
		}
		out = append(out, c)
	}
	return string(out)
}

// onlyAnd reports whether a value filter joins its comparisons with and
// alone (outside its quoted strings).
func onlyAnd(f string) bool {
	var bare strings.Builder
	in := false
	for i := 0; i < len(f); i++ {
		switch {
		case f[i] == '"':
			in = !in
		case in && f[i] == '\\':
			i++
		case !in:
			bare.WriteByte(f[i])
		}
	}
	words := strings.Fields(strings.ToLower(bare.String()))
	return !slices.Contains(words, "or") && !slices.Contains(words, "not") && !strings.ContainsAny(bare.String(), "()")
}

// subComparison reads "name op value" (or "name pr") at the start of s;
// n is how many bytes it took, 0 when s does not start with one.
func subComparison(s string) (cmp string, n int) {
	name := 0
	for name < len(s) && (isAttrChar(s[name])) {
		name++
	}
	if name == 0 || name+4 > len(s) || s[name] != ' ' {
		return "", 0
	}
	op := strings.ToLower(s[name+1 : name+3])
	rest := name + 3
	if !strings.Contains(" eq ne co sw ew gt ge lt le pr ", " "+op+" ") || (rest < len(s) && s[rest] != ' ' && s[rest] != ')') {
		return "", 0
	}
	if op == "pr" {
		return s[:rest], rest
	}
	if rest+1 >= len(s) || s[rest] != ' ' {
		return "", 0
	}
	v := rest + 1
	end := v
	if s[v] == '"' {
		end = v + 1
		for end < len(s) && s[end] != '"' {
			if s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(s) {
			return "", 0
		}
		end++
	} else {
		for end < len(s) && s[end] != ' ' && s[end] != ')' {
			end++
		}
	}
	return s[:end], end
}

func isAttrChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$'
}

// parseFilterSafely turns a panic of the parser into an error.
func parseFilterSafely(raw string) (e filter.Expression, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return filter.ParseFilter([]byte(raw))
}

// MatchSCIMFilter reports whether res (a decoded JSON object) matches e.
func MatchSCIMFilter(e filter.Expression, res map[string]any) bool {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		if x.Operator == filter.AND {
			return MatchSCIMFilter(x.Left, res) && MatchSCIMFilter(x.Right, res)
		}
		return MatchSCIMFilter(x.Left, res) || MatchSCIMFilter(x.Right, res)
	case *filter.NotExpression:
		return !MatchSCIMFilter(x.Expression, res)
	case *filter.ValuePath:
		for _, el := range asList(lookup(res, x.AttributePath.AttributeName)) {
			if m, ok := el.(map[string]any); ok && MatchSCIMFilter(x.ValueFilter, m) {
				return true
			}
		}
		return false
	case *filter.AttributeExpression:
		if x.Operator == filter.PR {
			// A complex attribute is present when it holds a non-empty
			// node (RFC 7644 §3.4.2.2), whatever its value sub-attribute.
			for _, v := range attrValues(res, x.AttributePath, false) {
				if present(v) {
					return true
				}
			}
			return false
		}
		exact := caseExact(x.AttributePath)
		for _, v := range pathValues(res, x.AttributePath) {
			if compare(v, x.Operator, x.CompareValue, exact) {
				return true
			}
		}
		return false
	}
	return false
}

// lookup returns the attribute name of m, matched case-insensitively.
func lookup(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// pathValues returns the values an attribute path names in res: of a
// multi-valued complex attribute, its elements' sub-attribute ("value"
// when none is named).
func pathValues(res map[string]any, p filter.AttributePath) []any {
	return attrValues(res, p, true)
}

// attrValues is pathValues; without implicitValue, the elements
// themselves stand for a complex attribute without a sub-attribute.
func attrValues(res map[string]any, p filter.AttributePath, implicitValue bool) []any {
	base := res
	if uri := p.URI(); uri != "" && !strings.EqualFold(uri, scimUserSchema) && !strings.EqualFold(uri, scimGroupSchema) {
		ext, _ := lookup(res, uri).(map[string]any)
		if ext == nil {
			return nil
		}
		base = ext
	}
	v := lookup(base, p.AttributeName)
	sub := p.SubAttributeName()
	var out []any
	for _, el := range asList(v) {
		m, ok := el.(map[string]any)
		switch {
		case ok && sub != "":
			out = append(out, asList(lookup(m, sub))...)
		case ok && implicitValue:
			out = append(out, lookup(m, "value"))
		case sub == "":
			out = append(out, el)
		}
	}
	return out
}

// caseExact reports whether the attribute's values compare case-exactly:
// id and externalId (RFC 7643 §3.1); every other Roster attribute is
// caseExact false.
func caseExact(p filter.AttributePath) bool {
	if p.SubAttributeName() != "" {
		return false
	}
	if uri := p.URI(); uri != "" && !strings.EqualFold(uri, scimUserSchema) && !strings.EqualFold(uri, scimGroupSchema) {
		return false
	}
	return strings.EqualFold(p.AttributeName, "id") || strings.EqualFold(p.AttributeName, "externalId")
}

func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// compare applies a comparison operator; values of different types never
// match, except that ne matches them.
func compare(v any, op filter.CompareOperator, want any, exact bool) bool {
	switch a := v.(type) {
	case string:
		b, ok := want.(string)
		if !ok {
			return op == filter.NE
		}
		if !exact {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		switch op {
		case filter.EQ:
			return a == b
		case filter.NE:
			return a != b
		case filter.CO:
			return strings.Contains(a, b)
		case filter.SW:
			return strings.HasPrefix(a, b)
		case filter.EW:
			return strings.HasSuffix(a, b)
		case filter.GT:
			return a > b
		case filter.GE:
			return a >= b
		case filter.LT:
			return a < b
		case filter.LE:
			return a <= b
		}
	case bool:
		b, ok := want.(bool)
		switch {
		case !ok:
			return op == filter.NE
		case op == filter.EQ:
			return a == b
		case op == filter.NE:
			return a != b
		}
	case float64:
		var b float64
		switch w := want.(type) {
		case int:
			b = float64(w)
		case float64:
			b = w
		default:
			return op == filter.NE
		}
		switch op {
		case filter.EQ:
			return a == b
		case filter.NE:
			return a != b
		case filter.GT:
			return a > b
		case filter.GE:
			return a >= b
		case filter.LT:
			return a < b
		case filter.LE:
			return a <= b
		}
	case nil:
		return op == filter.NE && want != nil
	}
	return false
}

// sortResources orders resources by an attribute path (sortBy), missing
// values last, ascending unless descending.
func sortResources(rs []map[string]any, by string, descending bool) error {
	p, err := filter.ParseAttrPath([]byte(by))
	if err != nil {
		return &scimFilterError{fmt.Sprintf("sortBy %q is not an attribute path.", by)}
	}
	key := func(r map[string]any) (string, bool) {
		for _, v := range pathValues(r, p) {
			if v != nil {
				return strings.ToLower(fmt.Sprint(v)), true
			}
		}
		return "", false
	}
	sort.SliceStable(rs, func(i, j int) bool {
		a, aok := key(rs[i])
		b, bok := key(rs[j])
		switch {
		case aok != bok:
			return aok // missing values last, either order
		case descending:
			return a > b
		}
		return a < b
	})
	return nil
}
