package i18n

// ruUserCSV holds the Russian strings of the users CSV export and import
// and of dormant accounts, with the same keys as enUserCSV.
var ruUserCSV = map[string]string{
	"users.export_csv": "Выгрузить в CSV",
}
