package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/outbox"
)

var key = []byte("an installation master key of 32+ bytes")

// TestRoundTrip: a job carries the message sealed; only the same key reads
// it, rendered in the recipient's language.
func TestRoundTrip(t *testing.T) {
	box := outbox.New(key)
	token := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	j, err := box.NewJob("ivan@example.com", "ru", mail.KindInvitation, mail.Invitation{BaseURL: "https://roster.example", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if j.Kind != outbox.Kind || strings.Contains(string(j.Payload), token) || strings.Contains(string(j.Payload), "ivan@") {
		t.Fatalf("payload in clear: %s", j.Payload)
	}
	m, err := box.Decode(j.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "ivan@example.com" || m.Lang != "ru" || !strings.Contains(m.Text, "https://roster.example/register/"+token) {
		t.Fatalf("decoded %+v", m)
	}
	if links := outbox.Links(m); len(links) == 0 {
		t.Errorf("no links in %q", m.Text)
	}
	if _, err := outbox.New([]byte("another key, also at least 32 bytes")).Decode(j.Payload); err == nil {
		t.Error("another key read the message")
	}
	if _, err := box.NewJob("x@example.com", "en", mail.KindInvitation, mail.Invitation{BaseURL: "https://roster.example"}); err == nil {
		t.Error("an invitation without a token was accepted")
	}
}

// TestHandler: delivery through the sender; LogSender holds; a payload that
// cannot be read is a permanent failure.
func TestHandler(t *testing.T) {
	box := outbox.New(key)
	j, err := box.NewJob("a@example.com", "en", mail.KindPasswordReset, mail.PasswordReset{BaseURL: "https://roster.example", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &mail.Recorder{}
	if err := box.Handler(rec)(context.Background(), j.Payload); err != nil {
		t.Fatal(err)
	}
	if m, ok := rec.Last("a@example.com"); !ok || !strings.Contains(m.Text, "/password-reset/t") {
		t.Fatalf("not delivered: %+v", rec.Messages())
	}
	err = box.Handler(outbox.LogSender{Logger: slog.New(slog.DiscardHandler)})(context.Background(), j.Payload)
	if !errors.Is(err, jobs.ErrHold) {
		t.Fatalf("LogSender: %v", err)
	}
	if err := box.Handler(rec)(context.Background(), []byte(`{"enc":"v1:garbage"}`)); !errors.Is(err, jobs.ErrPermanent) {
		t.Fatalf("garbage: %v", err)
	}
}
