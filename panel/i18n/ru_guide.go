package i18n

// ruGuide holds the Russian texts of enGuide, with the same keys.
var ruGuide = map[string]string{
	"event.user.recovery_codes_replaced": "Созданы новые резервные коды",

	"events.person":             "Сотрудник",
	"events.person_placeholder": "Имя, почта или логин",
	"events.person_none":        "Никто не найден по запросу «%s».",
	"events.person_choose":      "Подходят несколько человек. Выберите одного:",
	"events.show_high_volume":   "Показывать звонки и диалоги",
	"events.high_volume_hidden": "Звонки и диалоги скрыты; чтобы их увидеть, отметьте «Показывать звонки и диалоги».",
	"events.group_detail":       "%s «%s»",

	"guide.title":        "Начало работы",
	"guide.lead":         "Это новая установка. Два шага, и ею можно пользоваться:",
	"guide.company":      "Создайте компанию",
	"guide.company_hint": "Пользователи всегда принадлежат компании. Новая компания получает свои копии стандартных ролей (администратор компании, диспетчер, сотрудник и другие).",
	"guide.company_go":   "Создать компанию",
	"guide.people":       "Добавьте пользователей",
	"guide.people_hint":  "Добавьте администратора компании — он добавит остальных, — или добавьте пользователей сами.",
	"guide.people_go":    "Добавить пользователей",
	"guide.done":         "Готово",

	"tags.edit":       "Изменить",
	"tags.edit_label": "Изменить метку %s",

	"register.intro_company": "Вас пригласили в компанию «%s» в Roster как %s. Укажите имя и придумайте пароль.",

	"companies.rename":       "Переименовать",
	"companies.rename_label": "Переименовать «%s»",
	"flash.company_renamed":  "Компания переименована.",
}

func init() {
	for k, v := range ruGuide {
		ru[k] = v
	}
}
