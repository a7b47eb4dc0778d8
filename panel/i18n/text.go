package i18n

// enText and ruText are the messages of the rules about accepted text and
// request bodies (roster.CheckText, issue 11): field-error codes and the
// errors of forms that cannot be read. They are merged into en and ru at
// init.
var enText = map[string]string{
	"field.invalid_unicode":   "This text is not valid Unicode (invalid UTF-8 or an unpaired surrogate).",
	"field.control_character": "This field cannot contain control characters such as NUL.",
	"field.line_break":        "This field is a single line: no line breaks or tabs.",
	"field.bidi_control":      "This field cannot contain bidirectional control characters such as U+202E.",
	"field.duplicate_key":     "A key appears more than once in the same object.",
	"error.form_too_large":    "The form is too large (at most 2 MB).",
	"error.form_unreadable":   "The form could not be read; reload the page and try again.",
	"error.heading.413":       "Too large",
	"error.heading.400":       "Bad request",
}

var ruText = map[string]string{
	"field.invalid_unicode":   "Текст не является корректным Юникодом (неверная кодировка UTF-8 или одиночный суррогат).",
	"field.control_character": "Поле не может содержать управляющие символы, например NUL.",
	"field.line_break":        "Поле — одна строка: без переводов строки и табуляций.",
	"field.bidi_control":      "Поле не может содержать символы управления направлением текста, например U+202E.",
	"field.duplicate_key":     "Ключ встречается в одном объекте больше одного раза.",
	"error.form_too_large":    "Форма слишком большая (не больше 2 МБ).",
	"error.form_unreadable":   "Не удалось прочитать форму; обновите страницу и попробуйте снова.",
	"error.heading.413":       "Слишком большой запрос",
	"error.heading.400":       "Неверный запрос",
}

func init() {
	for k, v := range enText {
		en[k] = v
	}
	for k, v := range ruText {
		ru[k] = v
	}
}
