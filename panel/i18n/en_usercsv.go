package i18n

// enUserCSV holds the English strings of the users CSV export and import
// and of dormant accounts (issue 10, items 3, 4 and 6); init merges it and
// ruUserCSV into the catalogs.
var enUserCSV = map[string]string{
	"users.import_csv":                 "Import CSV",
	"import.title":                     "Import users",
	"import.lead":                      "Create and update many users from a CSV file: check it first, then confirm. All or nothing.",
	"import.back":                      "Back to users",
	"import.upload":                    "Upload a file",
	"import.format":                    "A CSV file (UTF-8) whose first row names these columns; roles are role keys separated by ;, credentials is invitation or generated (empty: invitation for e-mail users, generated for login users).",
	"import.file":                      "CSV file",
	"import.update_existing":           "Update existing users",
	"import.update_hint":               "A row whose e-mail (e-mail users) or login (login users) already belongs to a user of the company updates that user instead of being an error. E-mail and login never change.",
	"import.check":                     "Check the file",
	"import.errors":                    "The file has errors",
	"import.errors_lead":               "Nothing was imported. Fix these %d problems and upload the file again.",
	"import.line":                      "Line",
	"import.column":                    "Column",
	"import.message":                   "Problem",
	"import.preview":                   "Ready to import",
	"import.preview_counts":            "No errors: %d users will be created and %d updated.",
	"import.confirm":                   "Import",
	"import.another":                   "Choose another file",
	"import.done":                      "Import done",
	"import.done_counts":               "%d users created, %d updated.",
	"import.passwords_warning":         "Save the generated passwords now: they are shown only this once. Each user changes theirs at the first sign-in.",
	"import.passwords_download":        "Download the passwords (CSV)",
	"field.unknown_column":             "Unknown column.",
	"field.repeated_column":            "This column appears twice.",
	"field.missing_column":             "The header lacks this column.",
	"field.bad_csv":                    "This line is not valid CSV; nothing was imported.",
	"field.too_many_rows":              "A file holds at most 200,000 users; split it.",
	"field.exists":                     "A user with this name already exists; to update them, import with “Update existing users”.",
	"field.name_set_by_user":           "This user set their own name; only they can change it.",
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
