package i18n

// enTokens and ruTokens hold the strings of the service tokens page (issue
// 10, item 1) and the SCIM permission; init merges them into the catalogs.
var enTokens = map[string]string{
	"perm.service_tokens.manage": "Manage the company's service tokens",
	"perm.scim.provision":        "Provision users through SCIM (service tokens)",

	"tokens.title":            "Service tokens",
	"tokens.lead":             "Named API tokens for your integrations — telephony, dialogue routing, SCIM provisioning from your identity provider. Each holds only the permissions you give it.",
	"tokens.none":             "No service tokens yet.",
	"tokens.add":              "Create token",
	"tokens.name":             "Name",
	"tokens.permissions":      "Permissions",
	"tokens.permissions_hint": "Only permissions you hold yourself are offered. SCIM provisioning needs every users permission and View roles.",
	"tokens.expires":          "Expires",
	"tokens.expires_on":       "Expires on (optional)",
	"tokens.expires_hint":     "The token stops working at the start of this day, UTC. Leave empty for a token that does not expire.",
	"tokens.ip_allowlist":     "IP allowlist (optional)",
	"tokens.ip_hint":          "One address or CIDR range per line, like 203.0.113.0/24. Empty: any address.",
	"tokens.last_used":        "Last used",
	"tokens.unused":           "Never",
	"tokens.never":            "Never",
	"tokens.expired":          "Expired",
	"tokens.created_by":       "Created by",
	"tokens.created":          "Service token created",
	"tokens.secret":           "Token",
	"tokens.secret_warning":   "Copy the token now: it is shown only this once.",
	"tokens.secret_hint":      "Your integration sends it as Authorization: Bearer <token>. Lost it? Revoke the token and create a new one.",
	"tokens.revoke":           "Revoke",
	"tokens.revoke_confirm":   "Revoke this token? The integration using it is refused from its next request.",

	"flash.token_revoked": "Service token revoked.",

	"field.not_yours":            "You cannot give a permission you do not have.",
	"field.not_for_tokens":       "A service token cannot hold this permission.",
	"field.in_past":              "The date must be in the future.",
	"field.invalid_date":         "Enter a date like 2027-01-31.",
	"field.service_tokens_limit": "A company has at most %d service tokens; revoke one first.",

	"event.service_token.created": "Service token created",
	"event.service_token.revoked": "Service token revoked",
}

var ruTokens = map[string]string{
	"perm.service_tokens.manage": "Управление сервисными токенами компании",
	"perm.scim.provision":        "Подключение пользователей через SCIM (сервисные токены)",

	"tokens.title":            "Сервисные токены",
	"tokens.lead":             "Именованные API-токены для ваших интеграций — телефонии, маршрутизации диалогов, подключения пользователей по SCIM из вашего каталога. У каждого только те права, которые вы ему дали.",
	"tokens.none":             "Сервисных токенов пока нет.",
	"tokens.add":              "Создать токен",
	"tokens.name":             "Название",
	"tokens.permissions":      "Права",
	"tokens.permissions_hint": "Предлагаются только права, которые есть у вас самих. Для SCIM нужны все права на пользователей и просмотр ролей.",
	"tokens.expires":          "Действует до",
	"tokens.expires_on":       "Действует до (необязательно)",
	"tokens.expires_hint":     "Токен перестаёт работать в начале этого дня по UTC. Оставьте пустым, чтобы токен не истекал.",
	"tokens.ip_allowlist":     "Разрешённые IP-адреса (необязательно)",
	"tokens.ip_hint":          "Один адрес или диапазон CIDR в строке, например 203.0.113.0/24. Пусто — любой адрес.",
	"tokens.last_used":        "Последнее использование",
	"tokens.unused":           "Не использовался",
	"tokens.never":            "Бессрочно",
	"tokens.expired":          "Истёк",
	"tokens.created_by":       "Создал(а)",
	"tokens.created":          "Сервисный токен создан",
	"tokens.secret":           "Токен",
	"tokens.secret_warning":   "Скопируйте токен сейчас: он показывается только один раз.",
	"tokens.secret_hint":      "Интеграция передаёт его в заголовке Authorization: Bearer <токен>. Потеряли токен? Отзовите его и создайте новый.",
	"tokens.revoke":           "Отозвать",
	"tokens.revoke_confirm":   "Отозвать этот токен? Интеграции будет отказано начиная со следующего запроса.",

	"flash.token_revoked": "Сервисный токен отозван.",

	"field.not_yours":            "Нельзя выдать право, которого нет у вас самих.",
	"field.not_for_tokens":       "Сервисному токену нельзя выдать это право.",
	"field.in_past":              "Дата должна быть в будущем.",
	"field.invalid_date":         "Введите дату, например 2027-01-31.",
	"field.service_tokens_limit": "У компании может быть не больше %d сервисных токенов; сначала отзовите один.",

	"event.service_token.created": "Сервисный токен создан",
	"event.service_token.revoked": "Сервисный токен отозван",
}

func init() {
	for lang, extra := range map[string]map[string]string{EN: enTokens, RU: ruTokens} {
		for k, v := range extra {
			if _, ok := catalogs[lang][k]; !ok {
				catalogs[lang][k] = v
			}
		}
	}
}
