// Package i18n holds the panel's message catalogs, English and Russian, and
// picks a language for a request. Every string the panel shows is a key of
// both catalogs; a test checks that they have the same keys and that every
// key used by the templates and handlers exists.
package i18n

import (
	"fmt"
	"sort"
	"strings"
)

// Supported languages.
const (
	EN = "en"
	RU = "ru"
)

// Default is the language when nothing else says.
const Default = EN

var catalogs = map[string]map[string]string{EN: en, RU: ru}

// Languages lists the supported languages in menu order.
func Languages() []string { return []string{EN, RU} }

// Supported reports whether lang has a catalog.
func Supported(lang string) bool { _, ok := catalogs[lang]; return ok }

// Has reports whether lang's catalog has key.
func Has(lang, key string) bool { _, ok := catalogs[lang][key]; return ok }

// T returns the message key in lang, formatted with args when given. A
// missing key falls back to English, then to the key itself, so a gap is
// visible but never breaks a page.
func T(lang, key string, args ...any) string {
	msg, ok := catalogs[lang][key]
	if !ok {
		if msg, ok = en[key]; !ok {
			msg = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// Plural returns the message key in the plural form n takes in lang, with n
// formatted in: keys are key.one / key.other in English and key.one /
// key.few / key.many in Russian.
func Plural(lang, key string, n int) string {
	return T(lang, key+"."+pluralForm(lang, n), n)
}

func pluralForm(lang string, n int) string {
	if n < 0 {
		n = -n
	}
	if lang == RU {
		switch {
		case n%10 == 1 && n%100 != 11:
			return "one"
		case n%10 >= 2 && n%10 <= 4 && (n%100 < 12 || n%100 > 14):
			return "few"
		default:
			return "many"
		}
	}
	if n == 1 {
		return "one"
	}
	return "other"
}

// FromAcceptLanguage picks the best supported language from an
// Accept-Language header, honouring q-values; Default when none matches.
func FromAcceptLanguage(header string) string {
	best, bestQ := Default, -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		base, _, _ := strings.Cut(tag, "-")
		if !Supported(base) {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if _, err := fmt.Sscanf(v, "%g", &q); err != nil {
				continue
			}
		}
		if q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

// Keys returns the keys of lang's catalog, sorted.
func Keys(lang string) []string {
	out := make([]string, 0, len(catalogs[lang]))
	for k := range catalogs[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
