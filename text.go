package roster

import (
	"unicode"
	"unicode/utf8"
)

// The text Roster accepts, decided once (issue 11, finding 2) and checked
// at every door — JSON bodies (string values and object keys), query
// parameters, form posts, path values and CSV cells — by CheckText:
//
//   - Any text is valid UTF-8 without lone surrogates, and holds no NUL,
//     no other C0 control character except TAB, LF and CR, and no DEL.
//     Nothing is repaired: invalid UTF-8 is refused, never stored as U+FFFD.
//   - Single-line text (names, positions, phones, logins, e-mails, role,
//     company, tag and queue names, search terms, filters) also refuses
//     TAB, LF, CR, the Unicode line and paragraph separators, the C1
//     controls and the bidirectional controls (U+061C, U+200E, U+200F,
//     U+202A–U+202E, U+2066–U+2069), which could make a name display as
//     something else. Multi-line text (comments) allows TAB, LF and CR.
//
// The field-error codes below double as translation keys ("field."+code).
const (
	CodeInvalidUnicode = "invalid_unicode"
	CodeControlChar    = "control_character"
	CodeLineBreak      = "line_break"
	CodeBidiControl    = "bidi_control"
)

// TextKind says which characters a text may hold.
type TextKind int

const (
	// MultiLine is any text Roster accepts at all: comments, passwords,
	// tokens, every value at the edge before the domain knows its field.
	MultiLine TextKind = iota
	// SingleLine is a one-line value shown as a name or matched as a term.
	SingleLine
)

// TextCode reports whether code is one of the text codes above.
func TextCode(code string) bool { _, ok := textMessages[code]; return ok }

// Messages of the text codes, in English; the panel translates by code.
var textMessages = map[string]string{
	CodeInvalidUnicode: "This text is not valid Unicode (invalid UTF-8 or an unpaired surrogate).",
	CodeControlChar:    "This field cannot contain control characters such as NUL.",
	CodeLineBreak:      "This field is a single line: no line breaks or tabs.",
	CodeBidiControl:    "This field cannot contain bidirectional control characters such as U+202E.",
}

// CheckText returns the code and message of the first problem of s as text
// of the given kind, or two empty strings when s is acceptable.
func CheckText(s string, kind TextKind) (code, message string) {
	if c := textProblem(s, kind); c != "" {
		return c, textMessages[c]
	}
	return "", ""
}

// TextMessage is the English message of a text code.
func TextMessage(code string) string { return textMessages[code] }

func textProblem(s string, kind TextKind) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !isRealRuneError(s[i:]):
			return CodeInvalidUnicode
		case r == '\t' || r == '\n' || r == '\r':
			if kind == SingleLine {
				return CodeLineBreak
			}
		case r < 0x20 || r == 0x7f:
			return CodeControlChar
		case kind == SingleLine && (r == '\u2028' || r == '\u2029'):
			return CodeLineBreak
		case kind == SingleLine && unicode.IsControl(r):
			return CodeControlChar
		case kind == SingleLine && IsBidiControl(r):
			return CodeBidiControl
		}
	}
	return ""
}

// isRealRuneError reports whether s starts with an encoded U+FFFD rather
// than an invalid byte (which range also decodes as U+FFFD).
func isRealRuneError(s string) bool {
	_, size := utf8.DecodeRuneInString(s)
	return size == 3
}

// IsBidiControl reports whether r is one of the invisible characters that
// change the direction of text around it.
func IsBidiControl(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// ValidateTextKind adds the problem of s as text of kind to v under field,
// and reports whether s passed.
func ValidateTextKind(v *Validation, field, s string, kind TextKind) bool {
	if code, msg := CheckText(s, kind); code != "" {
		v.Add(field, code, msg)
		return false
	}
	return true
}

// SafeText returns s with every character CheckText would refuse as
// single-line text replaced by U+FFFD, so that a refused name (a query
// parameter's, a JSON key) can be echoed in an error.
func SafeText(s string) string {
	if textProblem(s, SingleLine) == "" {
		return s
	}
	out := make([]rune, 0, len(s))
	for i, r := range s {
		if (r == utf8.RuneError && !isRealRuneError(s[i:])) || unicode.IsControl(r) || IsBidiControl(r) || r == '\u2028' || r == '\u2029' {
			r = utf8.RuneError
		}
		out = append(out, r)
	}
	return string(out)
}
