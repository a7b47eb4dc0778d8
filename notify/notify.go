// Package notify delivers event notifications to Telegram (Bot API
// sendMessage) and Slack (Web API chat.postMessage), and by e-mail through
// the outbox, like every other e-mail of Roster. Deliveries are durable jobs (kind
// roster.NotificationJobKind) run by the jobs worker: a failed try returns
// an error and the worker retries with exponential backoff until the job is
// dead; every try's outcome is recorded on the delivery for the failed list.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/secure"
)

// Default API base URLs; ROSTER_TELEGRAM_API_URL and ROSTER_SLACK_API_URL
// override them.
const (
	DefaultTelegramURL = "https://api.telegram.org"
	DefaultSlackURL    = "https://slack.com"
)

// Telegram sends messages through the Telegram Bot API.
type Telegram struct {
	BaseURL string
	Client  *http.Client
}

// Send posts {chat_id, text} to {base}/bot{token}/sendMessage.
func (t *Telegram) Send(ctx context.Context, token, chatID, text string) error {
	body := map[string]string{"chat_id": chatID, "text": text}
	var out struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	err := postJSON(ctx, client(t.Client), strings.TrimRight(t.BaseURL, "/")+"/bot"+token+"/sendMessage", "", body, &out)
	if err != nil {
		return fmt.Errorf("telegram: %w", redact(err, token))
	}
	if !out.OK {
		return fmt.Errorf("telegram: not ok: %w", redact(errors.New(out.Description), token))
	}
	return nil
}

// Slack sends messages through the Slack Web API.
type Slack struct {
	BaseURL string
	Client  *http.Client
}

// Send posts {channel, text} to {base}/api/chat.postMessage with a bearer token.
func (s *Slack) Send(ctx context.Context, token, channel, text string) error {
	body := map[string]string{"channel": channel, "text": text}
	var out struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := postJSON(ctx, client(s.Client), strings.TrimRight(s.BaseURL, "/")+"/api/chat.postMessage", token, body, &out); err != nil {
		return fmt.Errorf("slack: %w", redact(err, token))
	}
	if !out.OK {
		return fmt.Errorf("slack: not ok: %w", redact(errors.New(out.Error), token))
	}
	return nil
}

func client(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 15 * time.Second}
}

// redact removes a token from an error (URLs in net/http errors carry the
// Telegram token).
func redact(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "<token>"))
}

func postJSON(ctx context.Context, c *http.Client, url, bearer string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("bad answer: %w", err)
	}
	return nil
}

// TokenKey returns the key that seals notification tokens at rest: derived
// from the master key (ROSTER_SECRET_KEY) when there is one, else from an
// installation secret every instance shares.
func TokenKey(ctx context.Context, master []byte, p roster.PlatformService) ([]byte, error) {
	if len(master) == 0 {
		var err error
		if master, err = p.Secret(ctx, "notify-tokens"); err != nil {
			return nil, err
		}
	}
	if len(master) < secure.MinMasterKeyLen {
		master = append(append([]byte{}, master...), make([]byte, secure.MinMasterKeyLen-len(master))...)
	}
	return secure.DeriveKey(master, "roster notify tokens"), nil
}

// MailBox seals an e-mail into an outbox job (outbox.Box).
type MailBox interface {
	NewJob(to, lang, kind string, data any) (*roster.Job, error)
}

// Mail hands e-mail notifications to the outbox, the path every e-mail of
// Roster takes: the message is rendered in the recipient's language and
// enqueued as a mail job, which the mail worker sends through SMTP, or
// keeps held and logged when no SMTP server is configured.
type Mail struct {
	Box  MailBox
	Jobs interface {
		EnqueueJob(context.Context, *roster.Job) error
	}
	Users interface {
		UserByID(ctx context.Context, scope roster.Scope, id int64) (*roster.User, error)
	}
	// BaseURL is ROSTER_BASE_URL, for the link to the notification settings.
	BaseURL string
	// Wake, if set, wakes the mail worker after an enqueue.
	Wake func()
}

// enqueue writes the mail job of an e-mail delivery.
func (m *Mail) enqueue(ctx context.Context, d *roster.Delivery) error {
	lang, name := "", ""
	if d.UserID != nil {
		u, err := m.Users.UserByID(ctx, roster.Scope{CompanyIDs: []int64{d.CompanyID}}, *d.UserID)
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		if u != nil {
			lang, name = u.Lang, strings.TrimSpace(u.FirstName)
		}
	}
	job, err := m.Box.NewJob(d.Target, lang, mail.KindNotification,
		mail.Notification{BaseURL: m.BaseURL, Name: name, EventType: d.EventType, Text: d.Body})
	if err != nil {
		return jobs.Permanent(err)
	}
	if err := m.Jobs.EnqueueJob(ctx, job); err != nil {
		return err
	}
	if m.Wake != nil {
		m.Wake()
	}
	return nil
}

// Sender delivers notification jobs.
type Sender struct {
	Store    roster.NotificationService
	Platform roster.PlatformService
	Telegram *Telegram
	Slack    *Slack
	// Key is the master key tokens were sealed with (see TokenKey); nil
	// means the installation secret.
	Key []byte
	// Mail hands e-mail notifications to the outbox; a delivery is done
	// once its message is there, and the outbox then holds or sends it.
	// Nil fails e-mail deliveries.
	Mail *Mail
}

// Handle is the jobs handler of roster.NotificationJobKind: payload
// {"delivery_id": N}.
func (s *Sender) Handle(ctx context.Context, payload json.RawMessage) error {
	var p struct {
		DeliveryID int64 `json:"delivery_id"`
	}
	if err := json.Unmarshal(payload, &p); err != nil || p.DeliveryID == 0 {
		return jobs.Permanent(fmt.Errorf("notify: bad payload %s", payload))
	}
	d, err := s.Store.DeliveryByID(ctx, p.DeliveryID)
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return jobs.Permanent(err)
		}
		return err
	}
	if d.Status == roster.DeliverySent {
		return nil
	}
	sendErr := s.send(ctx, d)
	msg := ""
	if sendErr != nil {
		msg = sendErr.Error()
	}
	if err := s.Store.RecordDeliveryAttempt(ctx, d.ID, msg); err != nil {
		return err
	}
	return sendErr
}

func (s *Sender) send(ctx context.Context, d *roster.Delivery) error {
	if d.Channel == roster.ChannelEmail {
		if s.Mail == nil {
			return errors.New("e-mail notifications have no outbox")
		}
		return s.Mail.enqueue(ctx, d)
	}
	tg, sl, err := s.Store.CompanyTokens(ctx, d.CompanyID)
	if err != nil {
		return err
	}
	sealed := map[string]string{roster.ChannelTelegram: tg, roster.ChannelSlack: sl}[d.Channel]
	if sealed == "" {
		return fmt.Errorf("the company has no %s token", d.Channel)
	}
	key, err := TokenKey(ctx, s.Key, s.Platform)
	if err != nil {
		return err
	}
	token, err := secure.Decrypt(key, sealed)
	if err != nil {
		return fmt.Errorf("decrypt %s token: %w", d.Channel, err)
	}
	switch d.Channel {
	case roster.ChannelTelegram:
		return s.Telegram.Send(ctx, string(token), d.Target, d.Body)
	case roster.ChannelSlack:
		return s.Slack.Send(ctx, string(token), d.Target, d.Body)
	}
	return fmt.Errorf("unknown channel %q", d.Channel)
}
