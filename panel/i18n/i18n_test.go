package i18n

import (
	"strings"
	"testing"
)

// base strips a plural suffix, so en's .one/.other and ru's .one/.few/.many
// count as one key.
func base(k string) string {
	for _, s := range []string{".one", ".other", ".few", ".many"} {
		if strings.HasSuffix(k, s) {
			return strings.TrimSuffix(k, s) + ".#"
		}
	}
	return k
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	set := func(lang string) map[string]bool {
		m := map[string]bool{}
		for _, k := range Keys(lang) {
			m[base(k)] = true
		}
		return m
	}
	en, ru := set(EN), set(RU)
	for k := range en {
		if !ru[k] {
			t.Errorf("ru lacks %q", k)
		}
	}
	for k := range ru {
		if !en[k] {
			t.Errorf("en lacks %q", k)
		}
	}
	for _, k := range Keys(EN) {
		if strings.HasSuffix(k, ".one") && !Has(EN, strings.TrimSuffix(k, ".one")+".other") {
			t.Errorf("en plural %q lacks .other", k)
		}
	}
	for _, k := range Keys(RU) {
		if strings.HasSuffix(k, ".one") {
			b := strings.TrimSuffix(k, ".one")
			if !Has(RU, b+".few") || !Has(RU, b+".many") {
				t.Errorf("ru plural %q lacks .few or .many", b)
			}
		}
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		lang string
		n    int
		want string
	}{
		{EN, 1, "1 user"}, {EN, 0, "0 users"}, {EN, 5, "5 users"},
		{RU, 1, "1 пользователь"}, {RU, 21, "21 пользователь"}, {RU, 2, "2 пользователя"},
		{RU, 14, "14 пользователей"}, {RU, 5, "5 пользователей"}, {RU, 11, "11 пользователей"}, {RU, 101, "101 пользователь"},
	} {
		if got := Plural(c.lang, "users.count", c.n); got != c.want {
			t.Errorf("Plural(%s, %d) = %q, want %q", c.lang, c.n, got, c.want)
		}
	}
}

func TestFromAcceptLanguage(t *testing.T) {
	for h, want := range map[string]string{
		"": EN, "ru-RU,ru;q=0.9,en;q=0.8": RU, "en-US,en;q=0.9,ru;q=0.8": EN,
		"de-DE,ru;q=0.5": RU, "fr": EN, "en;q=0.2, ru;q=0.7": RU, "ru;q=bad, en": EN,
	} {
		if got := FromAcceptLanguage(h); got != want {
			t.Errorf("FromAcceptLanguage(%q) = %q, want %q", h, got, want)
		}
	}
}
