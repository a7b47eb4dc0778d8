package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"
)

const base = "https://roster.example.com/"

func sample(kind string) any {
	switch kind {
	case KindInvitation:
		return Invitation{BaseURL: base, Token: "tok-inv_123", Name: "Anna", Company: "Acme", InvitedBy: "Boris"}
	case KindPasswordReset:
		return &PasswordReset{BaseURL: base, Token: "tok-reset", Name: "Anna"}
	case KindEmailCode:
		return EmailCode{BaseURL: base, Code: "042517"}
	case KindNotification:
		return Notification{BaseURL: base, Name: "Anna", EventType: "user.blocked", Text: "Roster: User blocked: Boris (by Anna)"}
	case KindUnlock:
		return Unlock{BaseURL: base, Token: "tok-unlock", Name: "Anna"}
	case KindDormant:
		return DormantWarning{BaseURL: base, Name: "Anna", Company: "Acme", Days: 90, BlockAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	default:
		return MFANotice{BaseURL: base, Name: "Anna", ChangedBy: "Boris"}
	}
}

var cyrillic = regexp.MustCompile(`\p{Cyrillic}`)

func TestRender(t *testing.T) {
	wantLink := map[string]string{
		KindInvitation:    "https://roster.example.com/register/tok-inv_123",
		KindPasswordReset: "https://roster.example.com/password-reset/tok-reset",
		KindEmailCode:     "https://roster.example.com/profile/security",
		KindMFAReset:      "https://roster.example.com/profile/security",
		KindMFADisabled:   "https://roster.example.com/profile/security",
		KindNotification:  "https://roster.example.com/profile/notifications",
		KindUnlock:        "https://roster.example.com/unlock/tok-unlock",
		KindDormant:       "https://roster.example.com/signin",
	}
	for _, kind := range Kinds() {
		for _, tc := range []struct{ in, want string }{{"en", "en"}, {"ru", "ru"}, {"ru-RU", "ru"}, {"de", "en"}, {"", "en"}} {
			t.Run(kind+"/"+tc.in, func(t *testing.T) {
				m, err := Render(kind, tc.in, sample(kind))
				if err != nil {
					t.Fatal(err)
				}
				if m.Lang != tc.want || m.To != "" {
					t.Fatalf("lang %q to %q", m.Lang, m.To)
				}
				if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
					t.Fatalf("subject %q", m.Subject)
				}
				if !strings.Contains(m.Text, wantLink[kind]) || !strings.Contains(m.HTML, `href="`+wantLink[kind]+`"`) {
					t.Fatalf("link %s missing:\n%s\n%s", wantLink[kind], m.Text, m.HTML)
				}
				isRU := cyrillic.MatchString(m.Subject) && cyrillic.MatchString(m.Text) && cyrillic.MatchString(m.HTML)
				if isRU != (tc.want == "ru") {
					t.Fatalf("language of %q is not %s", m.Subject, tc.want)
				}
				if !strings.Contains(m.HTML, `<html lang="`+tc.want+`">`) {
					t.Fatal("html lang attribute missing")
				}
				if strings.Contains(m.Text, "<no value>") || strings.Contains(m.HTML, "ZgotmplZ") {
					t.Fatalf("template defect:\n%s\n%s", m.Text, m.HTML)
				}
			})
		}
	}
}

func TestRenderValidity(t *testing.T) {
	for _, tc := range []struct {
		kind, lang string
		data       any
		want       string
	}{
		{KindInvitation, "en", Invitation{BaseURL: base, Token: "t"}, "valid for 8 hours"},
		{KindInvitation, "ru", Invitation{BaseURL: base, Token: "t"}, "действует 8 часов"},
		{KindInvitation, "ru", Invitation{BaseURL: base, Token: "t", ValidFor: 24 * time.Hour}, "действует 24 часа"},
		{KindInvitation, "ru", Invitation{BaseURL: base, Token: "t", ValidFor: 21 * time.Hour}, "действует 21 час"},
		{KindPasswordReset, "en", PasswordReset{BaseURL: base, Token: "t"}, "valid for 1 hour"},
		{KindPasswordReset, "ru", PasswordReset{BaseURL: base, Token: "t"}, "действует 1 час"},
		{KindEmailCode, "en", EmailCode{BaseURL: base, Code: "123456"}, "valid for 10 minutes"},
		{KindEmailCode, "ru", EmailCode{BaseURL: base, Code: "123456"}, "действует 10 минут"},
		{KindEmailCode, "ru", EmailCode{BaseURL: base, Code: "123456", ValidFor: 90 * time.Second}, "действует 1 минуту"},
	} {
		m, err := Render(tc.kind, tc.lang, tc.data)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, tc.want) || !strings.Contains(m.HTML, tc.want) {
			t.Errorf("%s %s: %q not in\n%s", tc.kind, tc.lang, tc.want, m.Text)
		}
	}
}

func TestRuPlural(t *testing.T) {
	forms := [3]string{"час", "часа", "часов"}
	for n, want := range map[int]string{0: "часов", 1: "час", 2: "часа", 4: "часа", 5: "часов", 11: "часов",
		12: "часов", 14: "часов", 21: "час", 22: "часа", 101: "час", 111: "часов", 112: "часов"} {
		if got := ruPlural(n, forms); got != want {
			t.Errorf("%d: %s, want %s", n, got, want)
		}
	}
}

func TestRenderEscapes(t *testing.T) {
	d := Invitation{BaseURL: "http://localhost:8080", Token: "a/b?c", Name: `<script>x</script>`, Company: "Evil\r\nBcc: victim@example.com"}
	m, err := Render(KindInvitation, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Fatal("HTML not escaped")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Fatalf("subject has a line break: %q", m.Subject)
	}
	if !strings.Contains(m.Text, "http://localhost:8080/register/a%2Fb%3Fc") {
		t.Fatalf("token not escaped into one path segment:\n%s", m.Text)
	}
}

func TestRenderErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		kind string
		data any
	}{
		"UnknownKind":   {"nope", MFANotice{BaseURL: base}},
		"WrongType":     {KindInvitation, PasswordReset{BaseURL: base, Token: "t"}},
		"NilPointer":    {KindInvitation, (*Invitation)(nil)},
		"NoToken":       {KindPasswordReset, PasswordReset{BaseURL: base}},
		"NoCode":        {KindEmailCode, EmailCode{BaseURL: base}},
		"RelativeBase":  {KindMFAReset, MFANotice{BaseURL: "/roster"}},
		"EmptyBase":     {KindMFAReset, MFANotice{}},
		"FTPBase":       {KindMFAReset, MFANotice{BaseURL: "ftp://example.com"}},
		"JavaScript":    {KindMFAReset, MFANotice{BaseURL: "javascript:alert(1)"}},
		"QueryBase":     {KindMFAReset, MFANotice{BaseURL: "https://example.com/?x=1"}},
		"UserinfoBase":  {KindMFAReset, MFANotice{BaseURL: "https://u:p@example.com"}},
		"NoHostBase":    {KindMFAReset, MFANotice{BaseURL: "https:///path"}},
		"BadBaseSyntax": {KindMFAReset, MFANotice{BaseURL: "https://exa mple.com"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Render(tc.kind, "en", tc.data); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := Render("nope", "en", nil); !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("got %v", err)
	}
}

func TestRenderBaseWithPath(t *testing.T) {
	m, err := Render(KindPasswordReset, "en", PasswordReset{BaseURL: "https://example.com/roster/", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "https://example.com/roster/password-reset/t\n") {
		t.Fatal(m.Text)
	}
}

func TestRecorder(t *testing.T) {
	var r Recorder
	ctx := context.Background()
	m := Message{To: "a@example.com", Subject: "s", Text: "t"}
	if err := r.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := r.Send(ctx, Message{To: "not an address", Subject: "s", Text: "t"}); err == nil {
		t.Fatal("invalid recipient accepted")
	}
	boom := errors.New("boom")
	r.SetErr(boom)
	if err := r.Send(ctx, m); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	r.SetErr(nil)
	m2 := m
	m2.Subject = "second"
	r.Send(ctx, m2)
	if got := r.Messages(); len(got) != 2 {
		t.Fatalf("%d messages", len(got))
	}
	if last, ok := r.Last("a@example.com"); !ok || last.Subject != "second" {
		t.Fatalf("last %+v", last)
	}
	if _, ok := r.Last("b@example.com"); ok {
		t.Fatal("found a message never sent")
	}
	r.Reset()
	if len(r.Messages()) != 0 {
		t.Fatal("not reset")
	}
	var _ Sender = &r
	var _ Sender = &SMTPSender{}
}

func TestNewSMTP(t *testing.T) {
	for _, tc := range []struct {
		url     string
		ok      bool
		port    int
		str     string
		implict bool
	}{
		{"smtp://user:secret@mail.example.com", true, 587, "smtp://user:xxxxx@mail.example.com", false},
		{"smtp://mail.example.com:2525?tls=opportunistic", true, 2525, "", false},
		{"smtp://127.0.0.1:25?tls=none&timeout=2s", true, 25, "", false},
		{"smtps://user:p%40ss@mail.example.com", true, 465, "smtps://user:xxxxx@mail.example.com", true},
		{"smtps://mail.example.com?tls=none", false, 0, "", false},
		{"smtp://mail.example.com?tls=off", false, 0, "", false},
		{"smtp://mail.example.com?tsl=none", false, 0, "", false},
		{"smtp://mail.example.com?timeout=-1s", false, 0, "", false},
		{"smtp://mail.example.com:0", false, 0, "", false},
		{"smtp://mail.example.com:99999", false, 0, "", false},
		{"http://mail.example.com", false, 0, "", false},
		{"smtp://", false, 0, "", false},
		{"smtp://user:pa ss@[::1", false, 0, "", false},
	} {
		s, err := NewSMTP(tc.url, "Roster <noreply@example.com>")
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.url, err)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "pa ss") {
				t.Errorf("%s: error shows the password: %v", tc.url, err)
			}
			continue
		}
		if s.port != tc.port || s.implicit != tc.implict {
			t.Errorf("%s: port %d implicit %v", tc.url, s.port, s.implicit)
		}
		if tc.str != "" && s.String() != tc.str {
			t.Errorf("%s: String %q", tc.url, s.String())
		}
	}
	if _, err := NewSMTP("smtp://mail.example.com", "not an address"); err == nil {
		t.Error("bad From accepted")
	}
}

// parsed is a received message taken apart.
type parsed struct {
	subject, lang, text, html string
}

func parseReceived(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var dec mime.WordDecoder
	var p parsed
	if p.subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	p.lang = msg.Header.Get("Content-Language")
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = part
		switch strings.ToLower(part.Header.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			r = quotedprintable.NewReader(part)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, part)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		}
	}
	return p
}

var linkRE = regexp.MustCompile(`https://roster\.example\.com/register/[A-Za-z0-9_\-%]+`)

func TestSMTPStartTLS(t *testing.T) {
	addr, be, trust := startSMTP(t, startTLS, "roster", "s3cret")
	s, err := NewSMTP("smtp://roster:s3cret@"+addr+"?timeout=5s", "Roster <noreply@example.com>", WithTLSConfig(trust))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Render(KindInvitation, "ru", Invitation{BaseURL: base, Token: "Zm9vYmFyYmF6", Company: "Ромашка"})
	if err != nil {
		t.Fatal(err)
	}
	m.To = "anna@example.com"
	start := time.Now()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	t.Logf("sent in %v", time.Since(start))
	got := be.messages()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	if !got[0].TLS {
		t.Fatal("sent without TLS")
	}
	if got[0].From != "noreply@example.com" || len(got[0].To) != 1 || got[0].To[0] != "anna@example.com" {
		t.Fatalf("envelope %q %q", got[0].From, got[0].To)
	}
	p := parseReceived(t, got[0].Data)
	if p.subject != m.Subject || p.lang != "ru" {
		t.Fatalf("subject %q lang %q", p.subject, p.lang)
	}
	if !cyrillic.MatchString(p.text) || !cyrillic.MatchString(p.html) {
		t.Fatal("parts are not in Russian")
	}
	want := "https://roster.example.com/register/Zm9vYmFyYmF6"
	if l := linkRE.FindString(p.text); l != want {
		t.Fatalf("text link %q", l)
	}
	if !strings.Contains(p.html, `href="`+want+`"`) {
		t.Fatalf("html link missing:\n%s", p.html)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	addr, be, trust := startSMTP(t, implicitTLS, "", "")
	s, err := NewSMTP("smtps://"+addr, "noreply@example.com", WithTLSConfig(trust))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := Render(KindPasswordReset, "en", PasswordReset{BaseURL: base, Token: "reset-token"})
	m.To = "boris@example.com"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := be.messages()
	if len(got) != 1 || !got[0].TLS {
		t.Fatalf("%d messages", len(got))
	}
	p := parseReceived(t, got[0].Data)
	if p.lang != "en" || !strings.Contains(p.text, "https://roster.example.com/password-reset/reset-token") ||
		!strings.Contains(p.html, `href="https://roster.example.com/password-reset/reset-token"`) {
		t.Fatalf("%+v", p)
	}
}

func TestSMTPUntrustedCertificate(t *testing.T) {
	addr, be, _ := startSMTP(t, startTLS, "", "")
	s, err := NewSMTP("smtp://"+addr+"?timeout=5s", "noreply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := Message{To: "a@example.com", Subject: "s", Text: "t"}
	if err := s.Send(context.Background(), m); err == nil {
		t.Fatal("sent to a server with an untrusted certificate")
	}
	if len(be.messages()) != 0 {
		t.Fatal("message delivered")
	}
}

func TestSMTPMandatoryTLSRefusesPlainServer(t *testing.T) {
	addr, be, _ := startSMTP(t, plainOnly, "", "")
	s, err := NewSMTP("smtp://"+addr+"?timeout=5s", "noreply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := Message{To: "a@example.com", Subject: "s", Text: "t"}
	if err := s.Send(context.Background(), m); err == nil {
		t.Fatal("sent in clear text although STARTTLS is mandatory")
	}
	if len(be.messages()) != 0 {
		t.Fatal("message delivered")
	}
	// Explicitly allowed for a loopback relay.
	for _, q := range []string{"none", "opportunistic"} {
		s, err = NewSMTP("smtp://"+addr+"?tls="+q, "noreply@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("tls=%s: %v", q, err)
		}
	}
	if got := be.messages(); len(got) != 2 || got[0].TLS {
		t.Fatalf("%d messages", len(got))
	}
}

func TestSMTPPlainWithAuth(t *testing.T) {
	addr, be, _ := startSMTP(t, plainOnly, "roster", "pw")
	s, err := NewSMTP("smtp://roster:wrong@"+addr+"?tls=none", "noreply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := Render(KindEmailCode, "en", EmailCode{BaseURL: base, Code: "123456"})
	m.To = "a@example.com"
	if err := s.Send(context.Background(), m); err == nil {
		t.Fatal("wrong password accepted")
	}
	s, _ = NewSMTP("smtp://roster:pw@"+addr+"?tls=none", "noreply@example.com")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if p := parseReceived(t, be.messages()[0].Data); !strings.Contains(p.text, "123456") || !strings.Contains(p.html, "123456") {
		t.Fatalf("%+v", p)
	}
}

func TestSMTPTimeout(t *testing.T) {
	// A server that accepts and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s, err := NewSMTP("smtp://"+l.Addr().String()+"?timeout=300ms", "noreply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := Message{To: "a@example.com", Subject: "s", Text: "t"}
	start := time.Now()
	if err := s.Send(context.Background(), m); err == nil {
		t.Fatal("no error")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	s2, _ := NewSMTP("smtp://"+l.Addr().String(), "noreply@example.com")
	if err := s2.Send(ctx, m); err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestSendValidates(t *testing.T) {
	s, err := NewSMTP("smtp://127.0.0.1:1?tls=none", "noreply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), Message{To: "x", Subject: "s", Text: "t"}); err == nil {
		t.Fatal("bad recipient accepted")
	}
	if err := s.Send(context.Background(), Message{To: "a@example.com"}); err == nil {
		t.Fatal("empty message accepted")
	}
}
