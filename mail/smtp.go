package mail

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultSMTPTimeout bounds connecting and each SMTP command.
const DefaultSMTPTimeout = 15 * time.Second

// SMTPSender sends messages through one SMTP server. It is safe for
// concurrent use: every Send opens its own connection.
type SMTPSender struct {
	host     string
	port     int
	implicit bool // smtps://: TLS from the first byte
	policy   gomail.TLSPolicy
	user     string
	password string
	from     string
	timeout  time.Duration
	tls      *tls.Config // nil: system roots, ServerName = host
	redacted string
}

// SMTPOption adjusts an SMTPSender.
type SMTPOption func(*SMTPSender)

// WithTLSConfig sets the TLS configuration (for example a private root CA).
// Its ServerName defaults to the URL's host.
func WithTLSConfig(c *tls.Config) SMTPOption {
	return func(s *SMTPSender) { s.tls = c }
}

// NewSMTP configures a sender from a URL and a From address:
//
//	smtp://user:pass@host:587   STARTTLS, required (port 587 by default)
//	smtps://user:pass@host:465  TLS from the start (port 465 by default)
//
// Query parameters: tls=mandatory (the default), opportunistic or none
// (smtp:// only: a plain loopback relay or a test server), and timeout=10s
// (dial and command timeout). Unknown parameters are refused, so a typo
// cannot silently weaken the connection. No connection is made here.
func NewSMTP(rawURL string, from string, opts ...SMTPOption) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("mail: SMTP URL cannot be parsed") // the URL may hold a password: do not echo it
	}
	s := &SMTPSender{host: u.Hostname(), policy: gomail.TLSMandatory, timeout: DefaultSMTPTimeout}
	switch u.Scheme {
	case "smtp":
		s.port = gomail.DefaultPortTLS
	case "smtps":
		s.port, s.implicit = gomail.DefaultPortSSL, true
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q is not smtp or smtps", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("mail: SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP port %q is invalid", p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	for key, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch key {
		case "tls":
			switch v {
			case "mandatory", "":
				s.policy = gomail.TLSMandatory
			case "opportunistic":
				s.policy = gomail.TLSOpportunistic
			case "none":
				s.policy = gomail.NoTLS
			default:
				return nil, fmt.Errorf("mail: SMTP tls=%q is not mandatory, opportunistic or none", v)
			}
			if s.implicit && s.policy != gomail.TLSMandatory {
				return nil, errors.New("mail: smtps:// always uses TLS; tls= applies to smtp:// only")
			}
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("mail: SMTP timeout %q is not a positive duration", v)
			}
			s.timeout = d
		default:
			return nil, fmt.Errorf("mail: unknown SMTP URL parameter %q", key)
		}
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: From address %q: %w", from, err)
	}
	s.from = a.String()
	for _, o := range opts {
		o(s)
	}
	r := *u
	if r.User != nil {
		if _, ok := r.User.Password(); ok {
			r.User = url.UserPassword(r.User.Username(), "xxxxx")
		}
	}
	s.redacted = r.String()
	// Building a client once checks the options the library validates.
	if _, err := s.client(s.timeout); err != nil {
		return nil, err
	}
	return s, nil
}

// String is the SMTP URL with its password masked, for logs.
func (s *SMTPSender) String() string { return s.redacted }

// client builds a go-mail client for one delivery. go-mail applies the
// timeout as one deadline on the whole connection, so it is also the bound
// of a whole delivery; a sooner context deadline shortens it.
func (s *SMTPSender) client(timeout time.Duration) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSPolicy(s.policy),
	}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	}
	if s.tls != nil {
		c := s.tls.Clone()
		if c.ServerName == "" {
			c.ServerName = s.host
		}
		if c.MinVersion < tls.VersionTLS12 {
			c.MinVersion = tls.VersionTLS12
		}
		opts = append(opts, gomail.WithTLSConfig(c))
	}
	if s.user != "" {
		// Over required TLS, the strongest mechanism the server offers.
		// Where TLS is optional, PLAIN, which go-mail sends in clear text
		// only to localhost: a password never crosses a network unencrypted.
		auth := gomail.SMTPAuthAutoDiscover
		if !s.implicit && s.policy != gomail.TLSMandatory {
			auth = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP client: %w", err)
	}
	return c, nil
}

// Send delivers m with a plain-text part and, when m.HTML is set, an HTML
// alternative. The context bounds the whole exchange.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail: From: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: To: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageID()
	msg.SetDate()
	msg.SetGenHeader(gomail.HeaderContentLang, NormalizeLang(m.Lang))
	// RFC 3834: tell auto-responders not to answer.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := ctx.Err(); err != nil || timeout <= 0 {
		return fmt.Errorf("mail: send to %s: %w", m.To, cmp.Or(err, context.DeadlineExceeded))
	}
	c, err := s.client(timeout)
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: send to %s via %s: %w", m.To, net.JoinHostPort(s.host, strconv.Itoa(s.port)), err)
	}
	return nil
}
