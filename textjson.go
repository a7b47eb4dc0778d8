package roster

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// CodeDuplicateKey names a JSON object key given twice.
const CodeDuplicateKey = "duplicate_key"

// maxJSONProblems bounds the field errors CheckJSON reports for one document.
const maxJSONProblems = 20

// CheckJSON scans the raw bytes of a JSON document for what encoding/json
// would silently repair or drop: text CheckText refuses (as MultiLine, in
// string values and object keys) — including invalid UTF-8 and \uD800–\uDFFF
// escapes that are not a valid surrogate pair, which the decoder turns into
// U+FFFD — and keys repeated in one object (compared as encoding/json
// matches them, ignoring case), where the decoder lets the last one win.
// Each problem's Field is its JSON path: "filter.q", "roles[0].name".
//
// wellFormed is false when data is not JSON; the caller's decoder then
// reports the syntax error, and the problems found before it are dropped.
func CheckJSON(data []byte) (problems []FieldError, wellFormed bool) {
	s := jsonScan{data: data}
	return s.run()
}

type jsonFrame struct {
	object bool
	key    string // the current member's key (objects)
	index  int    // the current element's index (arrays)
	keys   map[string]bool
}

type jsonScan struct {
	data     []byte
	pos      int
	stack    []jsonFrame
	problems []FieldError
}

// path is the JSON path of the value being scanned.
func (s *jsonScan) path() string {
	var b strings.Builder
	for _, f := range s.stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(SafeText(f.key))
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return b.String()
}

func (s *jsonScan) add(code, msg string) {
	if len(s.problems) < maxJSONProblems {
		s.problems = append(s.problems, FieldError{Field: s.path(), Code: code, Message: msg})
	}
}

func (s *jsonScan) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *jsonScan) peek() byte {
	s.space()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *jsonScan) run() ([]FieldError, bool) {
	// Scan one value, then close containers and move to the next member
	// or element until the top-level value is complete.
	for {
		if !s.value() {
			return nil, false
		}
		for {
			if len(s.stack) == 0 {
				return s.problems, true
			}
			top := &s.stack[len(s.stack)-1]
			c := s.peek()
			s.pos++
			switch {
			case c == ',' && top.object:
				if !s.key() {
					return nil, false
				}
			case c == ',':
				top.index++
			case c == '}' && top.object, c == ']' && !top.object:
				s.stack = s.stack[:len(s.stack)-1]
				continue
			default:
				return nil, false
			}
			break
		}
	}
}

// value scans one value; for a container it scans the opening and leaves
// the frame on the stack, positioned at its first member or element.
func (s *jsonScan) value() bool {
	for {
		switch c := s.peek(); {
		case c == '{':
			s.pos++
			s.stack = append(s.stack, jsonFrame{object: true})
			if s.peek() == '}' {
				s.pos++
				s.stack = s.stack[:len(s.stack)-1]
				return true
			}
			if !s.key() {
				return false
			}
		case c == '[':
			s.pos++
			s.stack = append(s.stack, jsonFrame{})
			if s.peek() == ']' {
				s.pos++
				s.stack = s.stack[:len(s.stack)-1]
				return true
			}
		case c == '"':
			str, ok := s.str()
			if ok {
				s.checkText(str)
			}
			return ok
		case c == 't', c == 'f', c == 'n', c == '-', c >= '0' && c <= '9':
			// Literals and numbers hold no text; the decoder checks them.
			start := s.pos
			for s.pos < len(s.data) && strings.IndexByte("truefalsn-+.eE0123456789", s.data[s.pos]) >= 0 {
				s.pos++
			}
			return s.pos > start
		default:
			return false
		}
	}
}

// key scans `"key":` in the object on top of the stack.
func (s *jsonScan) key() bool {
	top := &s.stack[len(s.stack)-1]
	if s.peek() != '"' {
		return false
	}
	k, ok := s.str()
	if !ok || s.peek() != ':' {
		return false
	}
	s.pos++
	top.key = k.text
	s.checkText(k)
	fold := strings.ToLower(strings.ToUpper(k.text))
	if top.keys == nil {
		top.keys = map[string]bool{}
	}
	if top.keys[fold] {
		s.add(CodeDuplicateKey, fmt.Sprintf("The key %q appears more than once in this object.", SafeText(k.text)))
	}
	top.keys[fold] = true
	return true
}

// jsonString is a decoded JSON string and whether its encoding was valid;
// what was invalid reads as U+FFFD in text, for error messages only.
type jsonString struct {
	text  string
	valid bool
}

func (s *jsonScan) checkText(str jsonString) {
	if !str.valid {
		s.add(CodeInvalidUnicode, TextMessage(CodeInvalidUnicode))
	} else if code, msg := CheckText(str.text, MultiLine); code != "" {
		s.add(code, msg)
	}
}

// str decodes the string at pos, noting invalid UTF-8 and unpaired
// surrogate escapes instead of repairing them silently.
func (s *jsonScan) str() (jsonString, bool) {
	out := jsonString{valid: true}
	var b strings.Builder
	s.pos++ // the opening quote
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			out.text = b.String()
			return out, true
		case c == '\\':
			if s.pos+1 >= len(s.data) {
				return out, false
			}
			e := s.data[s.pos+1]
			s.pos += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := s.hex4()
				if !ok {
					return out, false
				}
				switch {
				case r >= 0xd800 && r < 0xdc00:
					// A high surrogate must be followed by an escaped low one.
					if s.pos+1 < len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
						save := s.pos
						s.pos += 2
						r2, ok := s.hex4()
						if !ok {
							return out, false
						}
						if r2 >= 0xdc00 && r2 < 0xe000 {
							b.WriteRune(utf16.DecodeRune(r, r2))
							continue
						}
						s.pos = save
					}
					out.valid = false
					b.WriteRune(utf8.RuneError)
				case r >= 0xdc00 && r < 0xe000:
					out.valid = false
					b.WriteRune(utf8.RuneError)
				default:
					b.WriteRune(r)
				}
			default:
				return out, false
			}
		case c < 0x20:
			return out, false // raw control characters are not JSON
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			s.pos++
		default:
			r, size := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && size == 1 {
				out.valid = false
				b.WriteRune(utf8.RuneError)
			} else {
				b.Write(s.data[s.pos : s.pos+size])
			}
			s.pos += size
		}
	}
	return out, false
}

// hex4 reads the four hex digits of a \u escape.
func (s *jsonScan) hex4() (rune, bool) {
	if s.pos+4 > len(s.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s.data[s.pos:s.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.pos += 4
	return rune(n), true
}
