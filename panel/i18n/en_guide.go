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
}

func init() {
	for k, v := range enGuide {
		en[k] = v
	}
}
