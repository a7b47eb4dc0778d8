package i18n

// enUserCSV holds the English strings of the users CSV export and import
// and of dormant accounts (issue 10, items 3, 4 and 6); init merges it and
// ruUserCSV into the catalogs.
var enUserCSV = map[string]string{
	"field.invalid_time":               "Give a time like 2026-01-31T00:00:00Z.",
	"field.invalid_boolean":            "Give true or false.",
	"users.filter_signin_before":       "No sign-in since",
	"users.filter_never_signed_in":     "Signed in",
	"users.never_signed_in_yes":        "Never",
	"users.never_signed_in_no":         "At least once",
	"settings.dormant":                 "Block dormant accounts after (days)",
	"settings.dormant_hint":            "0 = never; 8–3650. Active accounts nobody signed in to (or, never signed in, created) that many days ago are blocked automatically; their owners are e-mailed a week before.",
	"event.user.dormant_warned":        "Dormant account warned",
	"notify.event.user.dormant_warned": "Dormant account warned",
	"users.export_csv":                 "Export CSV",
}

func init() {
	for lang, extra := range map[string]map[string]string{EN: enUserCSV, RU: ruUserCSV} {
		for k, v := range extra {
			if _, ok := catalogs[lang][k]; !ok {
				catalogs[lang][k] = v
			}
		}
	}
}
