package i18n

// ruUserCSV holds the Russian strings of the users CSV export and import
// and of dormant accounts, with the same keys as enUserCSV.
var ruUserCSV = map[string]string{
	"field.invalid_time":               "Укажите время в виде 2026-01-31T00:00:00Z.",
	"field.invalid_boolean":            "Укажите true или false.",
	"users.filter_signin_before":       "Не входили с",
	"users.filter_never_signed_in":     "Входили",
	"users.never_signed_in_yes":        "Ни разу",
	"users.never_signed_in_no":         "Хотя бы раз",
	"settings.dormant":                 "Блокировать неиспользуемые учётные записи через (дней)",
	"settings.dormant_hint":            "0 — никогда; 8–3650. Активные учётные записи, в которые столько дней никто не входил (или, если входа не было, созданные столько дней назад), блокируются автоматически; владельцам за неделю приходит письмо.",
	"event.user.dormant_warned":        "Предупреждение о неиспользуемой учётной записи",
	"notify.event.user.dormant_warned": "Предупреждение о неиспользуемой учётной записи",
	"users.export_csv":                 "Выгрузить в CSV",
}
