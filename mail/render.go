package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
)

// Kinds of message Render knows, each with its data type.
const (
	KindInvitation    = "invitation"      // Invitation
	KindPasswordReset = "password_reset"  // PasswordReset
	KindEmailCode     = "email_code"      // EmailCode
	KindMFAReset      = "mfa_reset"       // MFANotice: 2FA reset to e-mail codes by an admin
	KindMFADisabled   = "mfa_disabled"    // MFANotice: 2FA turned off by an admin
	KindNotification  = "notification"    // Notification: an event the recipient subscribed to
	KindUnlock        = "unlock"          // Unlock: a link lifting a sign-in lock
	KindDormant       = "dormant_warning" // DormantWarning: the account will be blocked for lack of sign-ins
)

// Kinds lists every kind of message.
func Kinds() []string {
	return []string{KindInvitation, KindPasswordReset, KindEmailCode, KindMFAReset, KindMFADisabled, KindNotification, KindUnlock, KindDormant}
}

// Paths of the panel pages the links point to, relative to the base URL.
// The web package serves them; a token is appended as the last segment.
const (
	RegisterPath      = "/register/"
	PasswordResetPath = "/password-reset/"
	SecurityPath      = "/profile/security"
	NotificationsPath = "/profile/notifications"
	UnlockPath        = "/unlock/"
	SignInPath        = "/signin"
)

// Default validity of each kind of link or code, used when the data's
// ValidFor is zero (SPEC U4, U9; issue 3).
const (
	DefaultInvitationValidity = 8 * time.Hour
	DefaultResetValidity      = time.Hour
	DefaultCodeValidity       = 10 * time.Minute
	DefaultUnlockValidity     = time.Hour
)

// Languages Render can write, the first being the fallback.
const (
	LangEnglish = "en"
	LangRussian = "ru"
)

// Invitation is the data of an invitation: a registration link.
type Invitation struct {
	// BaseURL is the absolute address of the panel, like
	// https://roster.example.com (ROSTER_BASE_URL).
	BaseURL string
	// Token is the single-use registration token.
	Token string
	// Name is the recipient's name; may be empty.
	Name string
	// Company is the name of the inviting company; may be empty.
	Company string
	// InvitedBy is the inviting administrator's name; may be empty.
	InvitedBy string
	// ValidFor is how long the link works; zero means 8 hours.
	ValidFor time.Duration
}

// Link is the absolute registration link.
func (d Invitation) Link() string { return join(d.BaseURL, RegisterPath+url.PathEscape(d.Token)) }

// Validity is ValidFor or its default.
func (d Invitation) Validity() time.Duration { return orDefault(d.ValidFor, DefaultInvitationValidity) }

// PasswordReset is the data of a password-reset link.
type PasswordReset struct {
	BaseURL string
	Token   string
	Name    string
	// ValidFor is how long the link works; zero means 1 hour.
	ValidFor time.Duration
}

// Link is the absolute password-reset link.
func (d PasswordReset) Link() string {
	return join(d.BaseURL, PasswordResetPath+url.PathEscape(d.Token))
}

// Validity is ValidFor or its default.
func (d PasswordReset) Validity() time.Duration { return orDefault(d.ValidFor, DefaultResetValidity) }

// Unlock is the data of an unlock link: sign-in to the account was locked
// after many failed attempts, and the link lifts the lock.
type Unlock struct {
	BaseURL string
	Token   string
	Name    string
	// ValidFor is how long the link works; zero means 1 hour.
	ValidFor time.Duration
}

// Link is the absolute unlock link.
func (d Unlock) Link() string { return join(d.BaseURL, UnlockPath+url.PathEscape(d.Token)) }

// Validity is ValidFor or its default.
func (d Unlock) Validity() time.Duration { return orDefault(d.ValidFor, DefaultUnlockValidity) }

// DormantWarning is the data of the warning that an account nobody signed
// in to for long will be blocked unless its owner signs in.
type DormantWarning struct {
	BaseURL string
	Name    string
	// Company is the company's name; may be empty.
	Company string
	// Days is the company's dormant_block_days.
	Days int
	// BlockAt is when the account will be blocked without a sign-in.
	BlockAt time.Time
}

// Link is the absolute link to the sign-in page.
func (d DormantWarning) Link() string { return join(d.BaseURL, SignInPath) }

// Date is BlockAt as a calendar date (UTC).
func (d DormantWarning) Date() string { return d.BlockAt.UTC().Format("2006-01-02") }

// EmailCode is the data of a sign-in code sent by e-mail (2FA).
type EmailCode struct {
	BaseURL string
	// Code is the six-digit code.
	Code string
	Name string
	// ValidFor is how long the code works; zero means 10 minutes.
	ValidFor time.Duration
}

// Link is the absolute link to the security settings, where a user who
// did not ask for the code changes their password.
func (d EmailCode) Link() string { return join(d.BaseURL, SecurityPath) }

// Validity is ValidFor or its default.
func (d EmailCode) Validity() time.Duration { return orDefault(d.ValidFor, DefaultCodeValidity) }

// MFANotice is the data of the notice that an administrator reset or
// turned off a user's two-factor authentication.
type MFANotice struct {
	BaseURL string
	Name    string
	// ChangedBy is the administrator's name; may be empty.
	ChangedBy string
}

// Link is the absolute link to the user's security settings.
func (d MFANotice) Link() string { return join(d.BaseURL, SecurityPath) }

// Notification is the data of an event notification sent by e-mail.
type Notification struct {
	BaseURL string
	Name    string
	// EventType is the event's type (like "user.blocked"); the subject names
	// it in the recipient's language.
	EventType string
	// Text is the notification's text, the same as on Telegram and Slack.
	Text string
}

// Link is the absolute link to the recipient's notification settings.
func (d Notification) Link() string { return join(d.BaseURL, NotificationsPath) }

// eventNames names the event types of the notification catalog per
// language; an unknown type is shown as is.
var eventNames = map[string]map[string]string{
	LangEnglish: {
		"user.created": "User created", "user.blocked": "User blocked", "user.unblocked": "User unblocked",
		"user.deleted": "User deleted", "user.roles_changed": "User's roles changed",
		"user.mfa_disabled": "Two-factor authentication disabled", "user.mfa_reset": "Two-factor authentication reset to e-mail",
		"auth.sign_in_refused_address": "Sign-in refused by the IP allowlist", "user.locked": "Account locked after repeated failed sign-ins",
		"auth.sign_in_failed": "Failed sign-in", "user.address_locked": "Sign-in locked for one address after repeated failures",
		"user.unlocked": "Account unlocked",
	},
	LangRussian: {
		"user.created": "Пользователь создан", "user.blocked": "Пользователь заблокирован", "user.unblocked": "Пользователь разблокирован",
		"user.deleted": "Пользователь удалён", "user.roles_changed": "Роли пользователя изменены",
		"user.mfa_disabled": "Двухфакторная аутентификация отключена", "user.mfa_reset": "Двухфакторная аутентификация переведена на коды по e-mail",
		"auth.sign_in_refused_address": "Вход отклонён списком разрешённых IP-адресов", "user.locked": "Учётная запись заблокирована после неудачных попыток входа",
		"auth.sign_in_failed": "Неудачная попытка входа", "user.address_locked": "Вход с одного адреса заблокирован после неудачных попыток",
		"user.unlocked": "Учётная запись разблокирована",
	},
}

//go:embed templates
var templateFS embed.FS

// set is the parsed templates of one kind in one language: the text
// template defines "subject" and "text", the HTML one "layout" and "content".
type set struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templates maps language, then kind, to its templates. It is built once
// from embedded files and never changes afterwards.
var templates = mustParse()

func mustParse() map[string]map[string]set {
	m, err := parse()
	if err != nil {
		panic(err) // embedded files: a broken template is a build defect, caught by tests
	}
	return m
}

func parse() (map[string]map[string]set, error) {
	out := map[string]map[string]set{}
	for _, lang := range []string{LangEnglish, LangRussian} {
		funcs := funcMap(lang)
		out[lang] = map[string]set{}
		for _, kind := range Kinds() {
			base := "templates/" + lang + "/"
			t, err := texttemplate.New(kind+".txt").Funcs(texttemplate.FuncMap(funcs)).
				Option("missingkey=error").ParseFS(templateFS, base+kind+".txt")
			if err != nil {
				return nil, fmt.Errorf("mail: parse %s %s text: %w", lang, kind, err)
			}
			h, err := htmltemplate.New("layout.html").Funcs(htmltemplate.FuncMap(funcs)).
				Option("missingkey=error").ParseFS(templateFS, base+"layout.html", base+kind+".html")
			if err != nil {
				return nil, fmt.Errorf("mail: parse %s %s html: %w", lang, kind, err)
			}
			for _, name := range []string{"subject", "text"} {
				if t.Lookup(name) == nil {
					return nil, fmt.Errorf("mail: %s %s text defines no %q", lang, kind, name)
				}
			}
			out[lang][kind] = set{text: t, html: h}
		}
	}
	return out, nil
}

// NormalizeLang turns a language tag ("ru", "ru-RU", "RU_ru", "en-GB", "")
// into a language Render writes: Russian for Russian tags, else English.
func NormalizeLang(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if tag == LangRussian || strings.HasPrefix(tag, "ru-") || strings.HasPrefix(tag, "ru_") {
		return LangRussian
	}
	return LangEnglish
}

// ErrUnknownKind is returned by Render for a kind it has no templates for.
var ErrUnknownKind = errors.New("mail: unknown kind of message")

// Render writes the message of kind in lang (English when lang is not
// supported) from data, whose type must match the kind (a value or a
// pointer). The base URL in data must be an absolute http or https URL, so
// every link in the message is absolute. To is left for the caller to set.
func Render(kind string, lang string, data any) (Message, error) {
	lang = NormalizeLang(lang)
	s, ok := templates[lang][kind]
	if !ok {
		return Message{}, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	data, err := check(kind, data)
	if err != nil {
		return Message{}, err
	}
	var subject, text, html bytes.Buffer
	if err := s.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s subject: %w", kind, err)
	}
	if err := s.text.ExecuteTemplate(&text, "text", data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s text: %w", kind, err)
	}
	if err := s.html.ExecuteTemplate(&html, "layout", data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s html: %w", kind, err)
	}
	return Message{
		// A subject is one line whatever the data holds (no header injection).
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    html.String(),
		Lang:    lang,
	}, nil
}

// check verifies that data suits kind and returns it by value with its base
// URL normalized.
func check(kind string, data any) (any, error) {
	var err error
	wrong := func() error { return fmt.Errorf("mail: %s needs data of another type, not %T", kind, data) }
	switch kind {
	case KindInvitation:
		d, ok := deref[Invitation](data)
		if !ok {
			return nil, wrong()
		}
		if d.Token == "" {
			return nil, errors.New("mail: invitation without a token")
		}
		d.BaseURL, err = normalizeBase(d.BaseURL)
		return d, err
	case KindPasswordReset:
		d, ok := deref[PasswordReset](data)
		if !ok {
			return nil, wrong()
		}
		if d.Token == "" {
			return nil, errors.New("mail: password reset without a token")
		}
		d.BaseURL, err = normalizeBase(d.BaseURL)
		return d, err
	case KindUnlock:
		d, ok := deref[Unlock](data)
		if !ok {
			return nil, wrong()
		}
		if d.Token == "" {
			return nil, errors.New("mail: unlock link without a token")
		}
		d.BaseURL, err = normalizeBase(d.BaseURL)
		return d, err
	case KindEmailCode:
		d, ok := deref[EmailCode](data)
		if !ok {
			return nil, wrong()
		}
		if d.Code == "" {
			return nil, errors.New("mail: e-mail code message without a code")
		}
		d.BaseURL, err = normalizeBase(d.BaseURL)
		return d, err
	case KindMFAReset, KindMFADisabled:
		d, ok := deref[MFANotice](data)
		if !ok {
			return nil, wrong()
		}
		d.BaseURL, err = normalizeBase(d.BaseURL)
		return d, err
	case KindDormant:
		d, ok := deref[DormantWarning](data)
		if !ok {
			return nil, wrong()
		}
		d.BaseURL, err = normalizeBase(d.BaseURL)
		return d, err
	case KindNotification:
		d, ok := deref[Notification](data)
		if !ok {
			return nil, wrong()
		}
		if d.Text == "" {
			return nil, errors.New("mail: notification without text")
		}
		d.BaseURL, err = normalizeBase(d.BaseURL)
		return d, err
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
}

func deref[T any](data any) (T, bool) {
	switch d := data.(type) {
	case T:
		return d, true
	case *T:
		if d != nil {
			return *d, true
		}
	}
	var zero T
	return zero, false
}

// normalizeBase checks that base is an absolute http(s) URL without query,
// fragment or credentials, and returns it without a trailing slash.
func normalizeBase(base string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return "", fmt.Errorf("mail: base URL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("mail: base URL %q is not an absolute http(s) URL without query", base)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func join(base, path string) string { return strings.TrimRight(base, "/") + path }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// funcMap returns the template functions of one language.
func funcMap(lang string) map[string]any {
	return map[string]any{
		"dur": func(d time.Duration) string { return duration(lang, d) },
		"event": func(typ string) string {
			if n := eventNames[lang][typ]; n != "" {
				return n
			}
			return typ
		},
	}
}

// duration writes a validity period in words: whole hours when it is
// a whole number of hours, else minutes.
func duration(lang string, d time.Duration) string {
	n, unit := int(d/time.Minute), "minute"
	if d >= time.Hour && d%time.Hour == 0 {
		n, unit = int(d/time.Hour), "hour"
	}
	if lang == LangRussian {
		forms := map[string][3]string{
			"hour":   {"час", "часа", "часов"},
			"minute": {"минуту", "минуты", "минут"},
		}[unit]
		return fmt.Sprintf("%d %s", n, ruPlural(n, forms))
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// ruPlural picks the Russian form for n: 1, 21 час; 2–4, 22 часа; 5–20 часов.
func ruPlural(n int, forms [3]string) string {
	n %= 100
	switch {
	case n%10 == 1 && n != 11:
		return forms[0]
	case n%10 >= 2 && n%10 <= 4 && (n < 12 || n > 14):
		return forms[1]
	}
	return forms[2]
}
