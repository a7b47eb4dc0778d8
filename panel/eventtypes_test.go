package panel

import (
	"strings"
	"testing"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/panel/i18n"
)

// TestEveryEventTypeHasLabels (issue 12, item 12): every type of the event
// catalog has its own label in every language of the panel, so the log,
// its type filter and the user card never show a raw key.
func TestEveryEventTypeHasLabels(t *testing.T) {
	if len(roster.EventTypes) < 40 {
		t.Fatalf("the catalog has only %d types: are the catalogs of every area registered?", len(roster.EventTypes))
	}
	for _, lang := range i18n.Languages() {
		seen := map[string]string{}
		for _, typ := range roster.EventTypes {
			key := "event." + typ
			if !i18n.Has(lang, key) {
				t.Errorf("%s: no label for event type %s", lang, typ)
				continue
			}
			label := i18n.T(lang, key)
			if strings.TrimSpace(label) == "" || label == typ || label == key || strings.Contains(label, "_") {
				t.Errorf("%s: label of %s is %q", lang, typ, label)
			}
			if other, dup := seen[label]; dup {
				t.Errorf("%s: %s and %s share the label %q", lang, other, typ, label)
			}
			seen[label] = typ
		}
	}
}
