package main

import (
	"context"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// TestEndToEndMail boots the real program with ROSTER_SMTP_URL pointing at
// an SMTP server on loopback: an invitation goes out, its link registers
// the user, who then resets the password through "forgot password".
func TestEndToEndMail(t *testing.T) {
	bin := rosterBinary(t)
	inbox := startInbox(t)
	t.Setenv("ROSTER_SMTP_URL", "smtp://"+inbox.addr+"?tls=none")
	t.Setenv("ROSTER_SMTP_FROM", "roster@example.com")
	t.Setenv("ROSTER_SECRET_KEY", "an end-to-end master key of 32+ bytes")
	dbArgs := []string{"--data", t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, append([]string{"admin", "create", "--email", "root@example.com",
		"--password", "correct horse battery staple"}, dbArgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("admin create: %v\n%s", err, out)
	}
	c := &client{t: t, base: startServer(t, ctx, bin, dbArgs)}
	root := c.login("root@example.com", "correct horse battery staple")
	var company struct{ ID int64 }
	c.do("POST", "/api/v1/companies", root, map[string]any{"name": "Mail Co"}, 201, &company)
	roles := c.roles(root, company.ID)
	c.do("POST", "/api/v1/users", root, map[string]any{"auth_method": "email", "email": "ivan@mail.example",
		"role_ids": []int64{roles["employee"]}, "company_id": company.ID, "lang": "ru"}, 201, nil)

	token := inbox.await(t, regexp.MustCompile(`/register/([A-Za-z0-9_-]{43})`))
	c.do("POST", "/api/v1/registration/"+token, "", map[string]any{"password": "a long and private phrase",
		"first_name": "Ivan", "last_name": "Petrov"}, 200, nil)
	c.login("ivan@mail.example", "a long and private phrase")

	c.do("POST", "/api/v1/auth/forgot-password", "", map[string]any{"email": "ivan@mail.example"}, 202, nil)
	reset := inbox.await(t, regexp.MustCompile(`/password-reset/([A-Za-z0-9_-]{43})`))
	c.do("POST", "/api/v1/auth/password-reset", "", map[string]any{"token": reset, "new_password": "another private phrase"}, 200, nil)
	c.login("ivan@mail.example", "another private phrase")

	var outbox struct {
		Items []struct {
			State string `json:"state"`
			Sent  bool   `json:"sent"`
		} `json:"items"`
	}
	c.do("GET", "/api/v1/outbox", root, nil, 200, &outbox)
	if len(outbox.Items) != 2 || !outbox.Items[0].Sent || !outbox.Items[1].Sent {
		t.Fatalf("outbox: %+v", outbox.Items)
	}
}

// inbox is an SMTP server on loopback keeping what it receives.
type inbox struct {
	addr string
	mu   sync.Mutex
	msgs []string
}

func startInbox(t *testing.T) *inbox {
	t.Helper()
	in := &inbox{}
	srv := smtp.NewServer(in)
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return in
}

// await waits for a message matching re and returns its first group.
func (in *inbox) await(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		in.mu.Lock()
		for i := len(in.msgs) - 1; i >= 0; i-- {
			body := strings.NewReplacer("=\r\n", "", "=3D", "=").Replace(in.msgs[i])
			if m := re.FindStringSubmatch(body); m != nil {
				in.msgs = append(in.msgs[:i], in.msgs[i+1:]...)
				in.mu.Unlock()
				return m[1]
			}
		}
		in.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no message matching %s arrived", re)
	return ""
}

func (in *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &inboxSession{in: in}, nil }

type inboxSession struct{ in *inbox }

func (s *inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *inboxSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *inboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, string(b))
	s.in.mu.Unlock()
	return nil
}
func (s *inboxSession) Reset()        {}
func (s *inboxSession) Logout() error { return nil }
