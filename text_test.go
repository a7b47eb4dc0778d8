package roster

import (
	"encoding/json"
	"testing"
)

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		s            string
		multi, singl string // wanted codes
	}{
		{"", "", ""},
		{"Иван Петров", "", ""},
		{"日本語 😀 O'Brien-Smith", "", ""},
		{"\uFFFD", "", ""}, // a real replacement character is text
		{"a\tb", "", CodeLineBreak},
		{"a\nb", "", CodeLineBreak},
		{"a\r\nb", "", CodeLineBreak},
		{"a\u2028b", "", CodeLineBreak},
		{"a\x00b", CodeControlChar, CodeControlChar},
		{"\x01", CodeControlChar, CodeControlChar},
		{"\x1b[31m", CodeControlChar, CodeControlChar},
		{"\x1f", CodeControlChar, CodeControlChar},
		{"a\x7f", CodeControlChar, CodeControlChar},
		{"a\u0085b", "", CodeControlChar}, // C1 NEL
		{"\xff", CodeInvalidUnicode, CodeInvalidUnicode},
		{"a\xc3", CodeInvalidUnicode, CodeInvalidUnicode},
		{"\xed\xa0\x80", CodeInvalidUnicode, CodeInvalidUnicode}, // a surrogate in UTF-8
		{"admin\u202Egnp.exe", "", CodeBidiControl},
		{"\u2066x\u2069", "", CodeBidiControl},
		{"a\u200Fb", "", CodeBidiControl},
		{"a\u061Cb", "", CodeBidiControl},
		{"a\u200Db", "", ""}, // zero-width joiner: emoji and Indic scripts need it
	} {
		for _, k := range []struct {
			kind TextKind
			want string
		}{{MultiLine, tc.multi}, {SingleLine, tc.singl}} {
			code, msg := CheckText(tc.s, k.kind)
			if code != k.want {
				t.Errorf("CheckText(%q, %d) = %q, want %q", tc.s, k.kind, code, k.want)
			}
			if (code == "") != (msg == "") {
				t.Errorf("CheckText(%q): code %q with message %q", tc.s, code, msg)
			}
		}
	}
	if got := SafeText("a\x00b\xff\u202E"); got != "a\uFFFDb\uFFFD\uFFFD" {
		t.Errorf("SafeText = %q", got)
	}
}

func TestCheckJSON(t *testing.T) {
	type p struct{ field, code string }
	for _, tc := range []struct {
		in   string
		want []p
		bad  bool // not well-formed
	}{
		{`{"name":"Ivan","tags":[1,2],"x":{"y":null,"z":true,"w":-1.5e3}}`, nil, false},
		{`{"a":"\ud83d\ude00 \u00e9 \/ \" \\ \n\r\t"}`, nil, false},
		{`{"a":"\b"}`, []p{{"a", CodeControlChar}}, false},
		{` null `, nil, false},
		{`[]`, nil, false},
		{`{"username":"\u0000"}`, []p{{"username", CodeControlChar}}, false},
		{`{"filter":{"q":"a\u0000b"}}`, []p{{"filter.q", CodeControlChar}}, false},
		{`{"roles":[{"name":"ok"},{"name":"\ud800"}]}`, []p{{"roles[1].name", CodeInvalidUnicode}}, false},
		{`{"a":"\udc00"}`, []p{{"a", CodeInvalidUnicode}}, false},
		{`{"a":"\ud800\u0041"}`, []p{{"a", CodeInvalidUnicode}}, false},
		{`{"a":"\ud800\ud800\udc00"}`, []p{{"a", CodeInvalidUnicode}}, false},
		{`{"a":"x\ud800"}`, []p{{"a", CodeInvalidUnicode}}, false},
		{"{\"a\":\"\xff\"}", []p{{"a", CodeInvalidUnicode}}, false},
		{"{\"a\":\"\x7f\"}", []p{{"a", CodeControlChar}}, false},
		{`{"a":"\u007f"}`, []p{{"a", CodeControlChar}}, false},
		{`{"a":"line\nbreak\ttab"}`, nil, false}, // multi-line text is the domain's call
		{"{\"\xff\":1}", []p{{"\uFFFD", CodeInvalidUnicode}}, false},
		{`{"a\u0000":1}`, []p{{"a\uFFFD", CodeControlChar}}, false},
		{`[{"x":"\u0001"}]`, []p{{"[0].x", CodeControlChar}}, false},
		{`{"a":1,"a":2}`, []p{{"a", CodeDuplicateKey}}, false},
		{`{"name":1,"NAME":2}`, []p{{"NAME", CodeDuplicateKey}}, false},
		{`{"a":1,"\u0061":2}`, []p{{"a", CodeDuplicateKey}}, false},
		{`{"x":[{"k":1},{"k":1,"k":2}]}`, []p{{"x[1].k", CodeDuplicateKey}}, false},
		{`{"x":{"a":1},"y":{"a":1}}`, nil, false},
		{`{"a":`, nil, true},
		{`{"a" 1}`, nil, true},
		{`{"a":1,}`, nil, true},
		{`[1,]`, nil, true},
		{"{\"a\":\"\x01\"}", nil, true}, // raw control characters are not JSON
		{`{"a":"\x"}`, nil, true},
		{`{"a":"\u12"}`, nil, true},
		{``, nil, true},
	} {
		got, ok := CheckJSON([]byte(tc.in))
		if ok == tc.bad {
			t.Errorf("%s: well-formed %v", tc.in, ok)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.in, got, tc.want)
			continue
		}
		for i, w := range tc.want {
			if got[i].Field != w.field || got[i].Code != w.code || got[i].Message == "" {
				t.Errorf("%s: %+v, want %+v", tc.in, got[i], w)
			}
		}
	}
}

// FuzzCheckJSON holds the scan to encoding/json: it reads every document
// the decoder reads, and when it finds nothing wrong, the decoder yields
// only text CheckText accepts.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":"\u0000"}`, `{"a":[1,{"b":"\ud800"}]}`, `{"a":1,"A":2}`, `[]`, `"x"`, "{\"\xff\":1}", `{"a":"\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		problems, ok := CheckJSON(data)
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		if !ok {
			t.Fatalf("%q: valid JSON not well-formed to the scan", data)
		}
		if len(problems) > 0 {
			return
		}
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				if code, _ := CheckText(v, MultiLine); code != "" {
					t.Fatalf("%q: decoded %q passes the scan but not CheckText (%s)", data, v, code)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for k, e := range v {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}
