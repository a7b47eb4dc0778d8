// Package webhook sends Roster's webhooks: deliveries (roster.WebhookDelivery)
// are durable jobs of kind roster.WebhookJobKind, run by the jobs worker,
// each try signed the Standard Webhooks way (https://www.standardwebhooks.com/)
// and sent through a client that refuses the installation's own network
// (see guard.go). A failed try returns an error and the worker retries with
// exponential backoff until the job is dead; every try's outcome is stored
// on the delivery for the delivery log.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/secure"
)

// Header names of Standard Webhooks.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// KeyPurpose is the secure.DeriveKey purpose of the key that seals the
// signing secrets at rest.
const KeyPurpose = "roster webhooks v1"

// Key derives the key sealing signing secrets from the master key.
func Key(master []byte) []byte { return secure.DeriveKey(master, KeyPurpose) }

// NewSecret returns a new signing secret: "whsec_" and the base64 of 32
// random bytes, as Standard Webhooks libraries expect it.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Sign returns the webhook-signature header of a message: "v1," and the
// base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}", keyed with the
// decoded secret.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return "", errors.New("webhook: malformed signing secret")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Sender delivers webhook jobs.
type Sender struct {
	Store roster.WebhookService
	// Key opens the sealed secrets (see Key).
	Key []byte
	// Client sends the requests; NewClient(AllowPrivate) when nil.
	Client *http.Client
	// AllowPrivate lets deliveries reach private and loopback addresses.
	AllowPrivate bool
	// Clock stamps webhook-timestamp; time.Now when nil.
	Clock roster.Clock
}

// Handle is the jobs handler of roster.WebhookJobKind: payload
// {"delivery_id": N, "seq": K}.
func (s *Sender) Handle(ctx context.Context, payload json.RawMessage) error {
	var p struct {
		DeliveryID int64 `json:"delivery_id"`
		Seq        int   `json:"seq"`
	}
	if err := json.Unmarshal(payload, &p); err != nil || p.DeliveryID == 0 {
		return jobs.Permanent(fmt.Errorf("webhook: bad payload %s", payload))
	}
	d, err := s.Store.WebhookDispatch(ctx, p.DeliveryID)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil // the webhook was deleted with its deliveries
	} else if err != nil {
		return err
	}
	if d.Seq != p.Seq || d.Delivery.Status == roster.DeliverySent {
		// A resend superseded this job, or this job sent it already and
		// lost its lease before finishing (a resend sets the status back
		// to pending).
		return nil
	}
	att := roster.WebhookAttempt{Seq: d.Seq}
	var sendErr error
	switch {
	case !d.Active:
		sendErr = jobs.Permanent(errors.New("the webhook is paused"))
	default:
		sendErr = s.send(ctx, d, &att)
	}
	switch {
	case sendErr == nil:
		att.Status = roster.DeliverySent
	case errors.Is(sendErr, jobs.ErrPermanent) || d.JobAttempts >= d.JobMaxAttempts:
		att.Status = roster.DeliveryDead
	default:
		att.Status = roster.DeliveryFailed
	}
	if sendErr != nil && att.Error == "" && att.HTTPStatus == 0 {
		att.Error = strings.TrimPrefix(sendErr.Error(), jobs.ErrPermanent.Error()+": ")
	}
	if err := s.Store.RecordWebhookAttempt(ctx, d.Delivery.ID, att); err != nil {
		return err
	}
	return sendErr
}

// send makes one try and fills att with its answer. A refused address is
// a permanent failure: trying again would only knock on the same door.
func (s *Sender) send(ctx context.Context, d *roster.WebhookDispatch, att *roster.WebhookAttempt) error {
	// The address itself is checked by the client's dialer, after
	// resolution; here only what the dialer cannot see.
	if u, err := url.Parse(d.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return jobs.Permanent(errors.New("refused: not an http(s) URL without credentials"))
	}
	secret, err := secure.Decrypt(s.Key, d.SecretEnc)
	if err != nil {
		return jobs.Permanent(fmt.Errorf("cannot open the signing secret: %w", err))
	}
	now := time.Now
	if s.Clock != nil {
		now = s.Clock
	}
	ts := now()
	body := []byte(d.Delivery.Payload)
	sig, err := Sign(string(secret), d.Delivery.MessageID, ts, body)
	if err != nil {
		return jobs.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return jobs.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Roster-Webhooks/1")
	req.Header.Set(HeaderID, d.Delivery.MessageID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	c := s.Client
	if c == nil {
		c = NewClient(s.AllowPrivate)
	}
	resp, err := c.Do(req)
	if err != nil {
		if IsRefused(err) {
			var r *Refused
			errors.As(err, &r)
			return jobs.Permanent(r)
		}
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, roster.WebhookResponseLimit))
	att.HTTPStatus, att.Response = resp.StatusCode, string(b)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}
