package i18n

// enSeeds holds the English strings of issue 13's seed rules (plans,
// appointing administrators, work phones for calls); init merges it and
// ruSeeds into the catalogs.
var enSeeds = map[string]string{
	"created.send_email":                "Send to e-mail",
	"created.send_email_hint":           "Or e-mail the user a single-use link to set their password: the password itself is never sent.",
	"user.work_phone_hint":              "Needed for calls: a user without a work phone cannot be recorded as handling calls.",
	"field.required_for_calls":          "This user has no work phone, so they cannot handle calls; add one on their card first.",
	"ops.settings.call_statistics_plan": "Call statistics come with the Professional and Pro Plus plans; only the Main administrator changes the plan.",
	"companies.plan":                    "Plan",
	"companies.plan.standard":           "Standard",
	"companies.plan.professional":       "Professional",
	"companies.plan.pro_plus":           "Pro Plus",
	"companies.reseller":                "Reseller: its administrators appoint administrators of its dependent companies",
	"companies.admins_appoint_admins":   "Its administrators may appoint administrators of the company itself",
	"flash.company_settings_saved":      "Company settings saved.",
}

func init() {
	for lang, extra := range map[string]map[string]string{EN: enSeeds, RU: ruSeeds} {
		for k, v := range extra {
			if _, ok := catalogs[lang][k]; !ok {
				catalogs[lang][k] = v
			}
		}
	}
}
