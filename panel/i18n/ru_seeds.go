package i18n

// ruSeeds holds the Russian strings of issue 13's seed rules.
var ruSeeds = map[string]string{
	"created.send_email":                "Отправить на e-mail",
	"created.send_email_hint":           "Или отправьте пользователю одноразовую ссылку для задания пароля: сам пароль по почте не отправляется.",
	"user.work_phone_hint":              "Нужен для звонков: пользователя без рабочего телефона нельзя записать как обрабатывающего звонки.",
	"field.required_for_calls":          "У пользователя нет рабочего телефона, поэтому он не может обрабатывать звонки; сначала добавьте телефон в его карточке.",
	"ops.settings.call_statistics_plan": "Статистика звонков входит в тарифы Professional и Pro Plus; тариф меняет только главный администратор.",
	"companies.plan":                    "Тариф",
	"companies.plan.standard":           "Standard",
	"companies.plan.professional":       "Professional",
	"companies.plan.pro_plus":           "Pro Plus",
	"companies.reseller":                "Реселлер: его администраторы назначают администраторов зависимых компаний",
	"companies.admins_appoint_admins":   "Его администраторы могут назначать администраторов самой компании",
	"flash.company_settings_saved":      "Настройки компании сохранены.",
}
