package i18n

// enGuide holds the English texts of issue 12's remaining items: the event
// log for people, first-run guidance, settings sections and the smaller
// pages. It is merged into en at init.
var enGuide = map[string]string{
	"event.user.recovery_codes_replaced": "New recovery codes made",

	"events.person":             "Person",
	"events.person_placeholder": "Name, e-mail or login",
	"events.person_none":        "No one matches “%s”.",
	"events.person_choose":      "Several people match. Choose one:",
	"events.show_high_volume":   "Show calls and dialogues",
	"events.high_volume_hidden": "Calls and dialogues are hidden; tick “Show calls and dialogues” to see them.",
	"events.group_detail":       "%s “%s”",

	"guide.title":        "Getting started",
	"guide.lead":         "This installation is new. Two steps make it ready for people:",
	"guide.company":      "Create a company",
	"guide.company_hint": "People always belong to a company. A new company gets its own copies of the default roles (Company administrator, Dispatcher, Employee and others).",
	"guide.company_go":   "Create a company",
	"guide.people":       "Add people",
	"guide.people_hint":  "Add the company's administrator, who can add everyone else, or add people yourself.",
	"guide.people_go":    "Add people",
	"guide.done":         "Done",

	"tags.edit":       "Edit",
	"tags.edit_label": "Edit tag %s",

	"register.intro_company": "You were invited to %s in Roster as %s. Enter your name and choose a password.",

	"companies.rename":       "Rename",
	"companies.rename_label": "Rename %s",
	"flash.company_renamed":  "Company renamed.",
}

func init() {
	for k, v := range enGuide {
		en[k] = v
	}
}
