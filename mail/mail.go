// Package mail renders Roster's e-mail messages from embedded English and
// Russian templates and sends them over SMTP. Rendering and sending are
// separate so that a message can be rendered inside the transaction that
// causes it, kept in an outbox, and delivered later by a worker.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"sync"
)

// Message is one rendered e-mail, ready to be stored in an outbox or sent.
type Message struct {
	// To is the recipient's address. Render leaves it empty: the caller
	// knows the recipient.
	To      string `json:"to"`
	Subject string `json:"subject"`
	// Text is the plain-text part; HTML the alternative HTML part.
	Text string `json:"text"`
	HTML string `json:"html"`
	// Lang is the language the message was rendered in ("en" or "ru").
	Lang string `json:"lang"`
}

// Validate reports a message that cannot be sent: a missing or malformed
// recipient, or no subject or body.
func (m Message) Validate() error {
	if m.To == "" {
		return errors.New("mail: message has no recipient")
	}
	a, err := mail.ParseAddress(m.To)
	if err != nil || a.Address != m.To {
		return fmt.Errorf("mail: invalid recipient %q", m.To)
	}
	if m.Subject == "" || m.Text == "" {
		return errors.New("mail: message has no subject or text")
	}
	return nil
}

// Sender delivers one message. Implementations must be safe for concurrent
// use; an error means the message may be retried.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Recorder is a Sender that keeps messages in memory, for tests.
type Recorder struct {
	mu   sync.Mutex
	msgs []Message
	err  error
}

// SetErr makes every following Send fail with err (nil restores success), to
// simulate a failing server.
func (r *Recorder) SetErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Send validates and records m, or fails with the error set by SetErr.
func (r *Recorder) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

// Messages returns a copy of the messages sent so far, oldest first.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// Last returns the latest message sent to address, and whether there is one.
func (r *Recorder) Last(to string) (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if r.msgs[i].To == to {
			return r.msgs[i], true
		}
	}
	return Message{}, false
}

// Reset forgets every recorded message.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = nil
}
