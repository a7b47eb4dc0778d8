package i18n

// enUserCSV holds the English strings of the users CSV export and import
// and of dormant accounts (issue 10, items 3, 4 and 6); init merges it and
// ruUserCSV into the catalogs.
var enUserCSV = map[string]string{
	"users.export_csv": "Export CSV",
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
