// Package outbox turns e-mail into durable jobs and delivers them. A message
// is enqueued as a roster.Job of kind Kind whose payload (recipient,
// language, kind of message and its data, including single-use tokens) is
// encrypted with the installation's key, so the jobs table never holds a
// usable link in clear. The worker's handler decrypts, renders with
// mail.Render in the recipient's language and sends through a mail.Sender.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/secure"
)

// Kind is the job kind of e-mail.
const Kind = "mail"

// KeyPurpose is the secure.DeriveKey purpose of the outbox key.
const KeyPurpose = "roster outbox v1"

// Box encrypts and decrypts e-mail jobs.
type Box struct {
	key []byte
}

// New returns a Box keyed from the installation's master key.
func New(master []byte) *Box { return &Box{key: secure.DeriveKey(master, KeyPurpose)} }

// envelope is the stored payload: everything sealed.
type envelope struct {
	Enc string `json:"enc"`
}

// payload is the clear content of an e-mail job.
type payload struct {
	To   string          `json:"to"`
	Lang string          `json:"lang"`
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

// NewJob renders the message once (so a bad message fails where it is
// caused, not later in the worker) and returns the job carrying it.
func (b *Box) NewJob(to, lang, kind string, data any) (*roster.Job, error) {
	if _, err := mail.Render(kind, lang, data); err != nil {
		return nil, err
	}
	return b.Seal(to, lang, kind, data)
}

// Seal is NewJob without rendering the message first, for many messages
// of one kind whose data NewJob already checked on the first of them (a
// CSV import's invitations).
func (b *Box) Seal(to, lang, kind string, data any) (*roster.Job, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	clear, err := json.Marshal(payload{To: to, Lang: mail.NormalizeLang(lang), Kind: kind, Data: raw})
	if err != nil {
		return nil, err
	}
	enc, err := secure.Encrypt(b.key, clear)
	if err != nil {
		return nil, err
	}
	return roster.NewJob(Kind, envelope{Enc: enc})
}

// Decode decrypts and renders the message of an e-mail job.
func (b *Box) Decode(p json.RawMessage) (mail.Message, error) {
	var env envelope
	if err := json.Unmarshal(p, &env); err != nil {
		return mail.Message{}, fmt.Errorf("outbox: payload: %w", err)
	}
	clear, err := secure.Decrypt(b.key, env.Enc)
	if err != nil {
		return mail.Message{}, fmt.Errorf("outbox: %w", err)
	}
	var pl payload
	if err := json.Unmarshal(clear, &pl); err != nil {
		return mail.Message{}, fmt.Errorf("outbox: payload: %w", err)
	}
	var data any
	switch pl.Kind {
	case mail.KindInvitation:
		data = &mail.Invitation{}
	case mail.KindPasswordReset:
		data = &mail.PasswordReset{}
	case mail.KindEmailCode:
		data = &mail.EmailCode{}
	case mail.KindMFAReset, mail.KindMFADisabled:
		data = &mail.MFANotice{}
	case mail.KindNotification:
		data = &mail.Notification{}
	case mail.KindUnlock:
		data = &mail.Unlock{}
	default:
		return mail.Message{}, fmt.Errorf("outbox: %w: %q", mail.ErrUnknownKind, pl.Kind)
	}
	if err := json.Unmarshal(pl.Data, data); err != nil {
		return mail.Message{}, fmt.Errorf("outbox: data: %w", err)
	}
	m, err := mail.Render(pl.Kind, pl.Lang, data)
	if err != nil {
		return mail.Message{}, err
	}
	m.To = pl.To
	return m, nil
}

// LogSender stands in for SMTP when none is configured: it writes each
// message with its links to the log and keeps the job held (not sent), so
// the Main administrator can read it in the outbox.
type LogSender struct {
	Logger *slog.Logger
}

// ErrNotSent is the held reason of messages kept by LogSender.
var ErrNotSent = fmt.Errorf("%w: not sent, no SMTP server is configured (ROSTER_SMTP_URL); the message is kept in the outbox", jobs.ErrHold)

var linkRE = regexp.MustCompile(`https?://\S+`)

// Send logs m and answers ErrNotSent.
func (l LogSender) Send(ctx context.Context, m mail.Message) error {
	l.Logger.Warn("e-mail not sent (no SMTP configured); kept in the outbox",
		"to", m.To, "subject", m.Subject, "links", linkRE.FindAllString(m.Text, -1))
	return ErrNotSent
}

// Handler is the job handler delivering e-mail through sender.
func (b *Box) Handler(sender mail.Sender) jobs.Handler {
	return func(ctx context.Context, p json.RawMessage) error {
		m, err := b.Decode(p)
		if err != nil {
			return jobs.Permanent(err)
		}
		if err := m.Validate(); err != nil {
			return jobs.Permanent(err)
		}
		return sender.Send(ctx, m)
	}
}

// Links returns the absolute links in a message's text.
func Links(m mail.Message) []string { return linkRE.FindAllString(m.Text, -1) }
