package web

import (
	"reflect"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// ApplySCIMPatch applies one PATCH operation (RFC 7644 §3.5.2) to res, a
// decoded JSON resource: op is add, replace or remove; path is empty, an
// attribute ("title", "name.givenName") or a value path
// ("phoneNumbers[type eq \"work\"].value").
func ApplySCIMPatch(res map[string]any, op, path string, value any) error {
	if op != "add" && op != "replace" && op != "remove" {
		return scimBad("invalidSyntax", "op is add, replace or remove, not %q.", op)
	}
	if path == "" {
		if op == "remove" {
			return scimBad("noTarget", "remove needs a path.")
		}
		m, ok := value.(map[string]any)
		if !ok {
			return scimBad("invalidValue", "Without a path the value is an object of attributes.")
		}
		for k, v := range m {
			core := strings.EqualFold(k, scimUserSchema) || strings.EqualFold(k, scimGroupSchema)
			if core || strings.EqualFold(k, scimEnterpriseSchema) {
				if inner, ok := v.(map[string]any); ok {
					for ik, iv := range inner {
						p := ik
						if !core {
							p = scimEnterpriseSchema + ":" + ik
						}
						if err := ApplySCIMPatch(res, op, p, iv); err != nil {
							return err
						}
					}
					continue
				}
			}
			if err := ApplySCIMPatch(res, op, k, v); err != nil {
				return err
			}
		}
		return nil
	}
	p, err := parsePathSafely(path)
	if err != nil {
		return scimBad("invalidPath", "The path %q does not parse: %v", path, err)
	}
	if op != "remove" && value == nil {
		return scimBad("invalidValue", "%s needs a value.", op)
	}
	if uri := p.AttributePath.URI(); uri != "" && !strings.EqualFold(uri, scimUserSchema) && !strings.EqualFold(uri, scimGroupSchema) {
		// An extension's attribute: it lives in the extension's object.
		if !strings.EqualFold(uri, scimEnterpriseSchema) {
			return scimBad("invalidPath", "Unknown schema %q in the path.", uri)
		}
		k := keyOf(res, uri)
		ext, ok := res[k].(map[string]any)
		if !ok {
			if op == "remove" {
				return nil
			}
			ext = map[string]any{}
			res[k] = ext
		}
		p.AttributePath.URIPrefix = nil
		return applyPath(ext, op, path, p, value)
	}
	return applyPath(res, op, path, p, value)
}

// applyPath applies one operation with a parsed path to res.
func applyPath(res map[string]any, op, path string, p filter.Path, value any) error {
	attr := p.AttributePath.AttributeName
	key := keyOf(res, attr)
	if p.ValueExpression == nil {
		sub := p.AttributePath.SubAttributeName()
		if _, list := value.([]any); sub == "" && !list && value != nil && scimMultiValued[strings.ToLower(attr)] {
			// One value of a multi-valued attribute is a list of one.
			value = []any{value}
		}
		if sub == "" {
			switch op {
			case "remove":
				old, ok := res[key].([]any)
				if !ok || value == nil {
					delete(res, key)
					return nil
				}
				// A remove with values (as OneLogin sends it) drops the
				// elements equal to one of them.
				var kept []any
				for _, o := range old {
					if !slices.ContainsFunc(asList(value), func(v any) bool { return reflect.DeepEqual(o, v) }) {
						kept = append(kept, o)
					}
				}
				if kept == nil {
					delete(res, key)
				} else {
					res[key] = kept
				}
			case "add":
				if old, ok := res[key].([]any); ok {
					// A value already there is not added again (RFC 7644 §3.5.2.1).
					for _, v := range asList(value) {
						if !slices.ContainsFunc(old, func(o any) bool { return reflect.DeepEqual(o, v) }) {
							old = append(old, v)
						}
					}
					res[key] = old
				} else if !mergeInto(res[key], value) {
					res[key] = value
				}
			default:
				// A complex attribute's sub-attributes not in the value
				// stay (RFC 7644 §3.5.2.3).
				if !mergeInto(res[key], value) {
					res[key] = value
				}
			}
			return nil
		}
		m, ok := res[key].(map[string]any)
		if !ok {
			if op == "remove" {
				return nil
			}
			m = map[string]any{}
			res[key] = m
		}
		if op == "remove" {
			delete(m, keyOf(m, sub))
		} else {
			m[keyOf(m, sub)] = value
		}
		return nil
	}
	list := asList(res[key])
	sub := p.SubAttributeName()
	var kept []any
	matched := false
	for _, el := range list {
		m, ok := el.(map[string]any)
		if !ok || !MatchSCIMFilter(p.ValueExpression, m) {
			kept = append(kept, el)
			continue
		}
		matched = true
		switch {
		case op == "remove" && sub == "":
			continue
		case op == "remove":
			delete(m, keyOf(m, sub))
		case sub == "":
			if vm, ok := value.(map[string]any); ok {
				for k, v := range vm {
					m[keyOf(m, k)] = v
				}
			}
		default:
			m[keyOf(m, sub)] = value
		}
		kept = append(kept, m)
	}
	if !matched {
		switch {
		case op == "replace":
			return scimBad("noTarget", "No value matches %q.", path)
		case op == "remove" || sub == "":
			// Removing what is not there, or adding to nothing, changes
			// nothing (identity providers retry); an empty list is no
			// value (RFC 7643 §2.5).
			if len(list) == 0 && op == "remove" {
				delete(res, key)
			}
			return nil
		}
		// add with a sub-attribute: a new element from the filter's
		// equality and the value; another filter says too little to make one.
		ae, ok := p.ValueExpression.(*filter.AttributeExpression)
		if !ok || ae.Operator != filter.EQ || ae.CompareValue == nil {
			return scimBad("noTarget", "No value matches %q.", path)
		}
		kept = append(kept, map[string]any{sub: value, ae.AttributePath.AttributeName: ae.CompareValue})
	}
	if kept == nil {
		delete(res, key)
	} else {
		res[key] = kept
	}
	return nil
}

// scimMultiValued are the multi-valued attributes of the User and Group
// schemas (RFC 7643 §4), lower-cased.
var scimMultiValued = map[string]bool{"emails": true, "phonenumbers": true, "ims": true, "photos": true, "addresses": true,
	"groups": true, "entitlements": true, "roles": true, "x509certificates": true, "members": true}

// mergeInto copies the attributes of value into dst when both are
// objects, and reports whether it did.
func mergeInto(dst, value any) bool {
	om, ok := dst.(map[string]any)
	vm, vok := value.(map[string]any)
	if !ok || !vok {
		return false
	}
	for k, v := range vm {
		om[keyOf(om, k)] = v
	}
	return true
}

// keyOf returns the key of m matching name case-insensitively, or name.
func keyOf(m map[string]any, name string) string {
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

func parsePathSafely(raw string) (p filter.Path, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = scimBad("invalidPath", "The path does not parse.")
		}
	}()
	return filter.ParsePath([]byte(raw))
}
