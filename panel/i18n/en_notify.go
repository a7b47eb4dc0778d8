package i18n

// enNotify holds the English strings of event notifications as seed 003
// has them (issue 13, items 5 and 7): System > Event notifications, the
// Notifications panel of a user's card and "Send to e-mail" for a typed
// first password.
var enNotify = map[string]string{
	"nav.system":                             "System",
	"system.event_types.title":               "Event notifications",
	"system.event_types.lead":                "Choose which events exist for notification in the whole installation.",
	"system.event_types.hint":                "An event that is off cannot be chosen by anyone and is not sent; users' choices of it are kept for when it is on again.",
	"system.event_types.group.accounts":      "User accounts",
	"system.event_types.group.security":      "Two-factor authentication and locks",
	"system.event_types.group.signin":        "Sign-in",
	"system.event_types.group.other":         "Other events",
	"flash.event_types_saved":                "Event notifications saved.",
	"event.notification.event_types_changed": "Event notifications changed",
	"notify.none_enabled":                    "No event is enabled for notification.",
	"field.event_type_disabled":              "Notifications of this event are switched off.",
	"user.notifications":                     "Notifications",
	"user.notifications_hint":                "Where this user receives event notifications and which events: Telegram chat ID, Slack channel ID and events.",
	"user.notifications_not_allowed":         "This user's roles do not let them receive notifications: they need to see users or the event log.",
	"user.notifications_save":                "Save notifications",
	"flash.user_notifications_saved":         "Notification settings saved.",
	"usernew.send_email":                     "Send to e-mail",
	"usernew.send_email_hint":                "E-mail the user a single-use link to set their own password. The password you typed is never sent.",
	"field.send_email.email_required":        "The link goes to the user's e-mail: choose sign-in with e-mail and give an address.",
	"field.send_email.not_applicable":        "An invitation is e-mailed anyway.",
	"flash.user_created_link_sent":           "User added. A single-use link to set their password was e-mailed to them.",
	"field.telegram_chat_id.required":        "Give a Telegram chat ID to receive Telegram notifications.",
	"field.slack_channel_id.required":        "Give a Slack channel ID to receive Slack notifications.",
}

// ruNotify holds the Russian strings of the same.
var ruNotify = map[string]string{
	"nav.system":                             "Система",
	"system.event_types.title":               "Уведомления о событиях",
	"system.event_types.lead":                "Выберите, о каких событиях можно получать уведомления во всей системе.",
	"system.event_types.hint":                "Выключенное событие никто не может выбрать, и уведомления о нём не отправляются; выбор пользователей сохраняется до его включения.",
	"system.event_types.group.accounts":      "Учётные записи",
	"system.event_types.group.security":      "Двухфакторная аутентификация и блокировки",
	"system.event_types.group.signin":        "Вход",
	"system.event_types.group.other":         "Другие события",
	"flash.event_types_saved":                "Уведомления о событиях сохранены.",
	"event.notification.event_types_changed": "Изменены уведомления о событиях",
	"notify.none_enabled":                    "Уведомления не включены ни для одного события.",
	"field.event_type_disabled":              "Уведомления об этом событии выключены.",
	"user.notifications":                     "Уведомления",
	"user.notifications_hint":                "Куда и о каких событиях пользователь получает уведомления: ID чата Telegram, ID канала Slack и события.",
	"user.notifications_not_allowed":         "Роли пользователя не позволяют получать уведомления: нужен просмотр пользователей или журнала событий.",
	"user.notifications_save":                "Сохранить уведомления",
	"flash.user_notifications_saved":         "Настройки уведомлений сохранены.",
	"usernew.send_email":                     "Отправить на e-mail",
	"usernew.send_email_hint":                "Отправить пользователю одноразовую ссылку, чтобы он сам задал пароль. Введённый вами пароль не отправляется.",
	"field.send_email.email_required":        "Ссылка уходит на e-mail пользователя: выберите вход по e-mail и укажите адрес.",
	"field.send_email.not_applicable":        "Приглашение и так отправляется по e-mail.",
	"flash.user_created_link_sent":           "Пользователь добавлен. Ему отправлена одноразовая ссылка для задания пароля.",
	"field.telegram_chat_id.required":        "Укажите ID чата Telegram, чтобы получать уведомления в Telegram.",
	"field.slack_channel_id.required":        "Укажите ID канала Slack, чтобы получать уведомления в Slack.",
}

func init() {
	for lang, extra := range map[string]map[string]string{EN: enNotify, RU: ruNotify} {
		for k, v := range extra {
			if _, ok := catalogs[lang][k]; !ok {
				catalogs[lang][k] = v
			}
		}
	}
}
