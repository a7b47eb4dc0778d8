package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/webhook"
)

// TestSignStandardWebhooksVector checks Sign against the test vector the
// Standard Webhooks reference libraries publish (libraries/go/webhook_test.go
// of github.com/standard-webhooks/standard-webhooks, TestWebhookSign).
func TestSignStandardWebhooksVector(t *testing.T) {
	got, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

// sigRE is the shape of one v1 signature: base64 of 32 bytes.
var sigRE = regexp.MustCompile(`^v1,[A-Za-z0-9+/]{43}=$`)

// verify checks a signature the way a receiver following the spec does,
// without the package's code: HMAC-SHA256 keyed with the base64-decoded
// secret after "whsec_", over "{id}.{timestamp}.{body}".
func verify(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	id, ts, sig := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || !sigRE.MatchString(sig) {
		t.Fatalf("headers id=%q timestamp=%q signature=%q", id, ts, sig)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, id+"."+ts+"."+string(body))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(sig), []byte(want)) {
		t.Fatalf("signature %s, want %s", sig, want)
	}
}

func TestSignIndependent(t *testing.T) {
	secret := webhook.NewSecret()
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	body := []byte(`{"type":"user.blocked","data":{"name":"Ива́н"}}`)
	ts := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	sig, err := webhook.Sign(secret, "msg_1", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, secret, http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"1793523600"}, "Webhook-Signature": {sig}}, body)
	if _, err := webhook.Sign("whsec_not base64!", "msg_1", ts, body); err == nil {
		t.Error("a malformed secret signed")
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		addr          string
		strict, loose bool // allowed without and with allowPrivate
	}{
		{"93.184.215.14", true, true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true, true},
		{"127.0.0.1", false, true},
		{"127.8.9.10", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"10.0.0.1", false, true},
		{"172.16.5.4", false, true},
		{"172.32.0.1", true, true},
		{"192.168.1.1", false, true},
		{"fd12:3456::1", false, true},
		{"169.254.10.1", false, true},
		{"fe80::1", false, true},
		{"100.64.0.1", false, true},
		{"100.127.255.254", false, true},
		{"100.128.0.1", true, true},
		{"64:ff9b::7f00:1", false, true},
		{"64:ff9b::5db8:d70e", true, true},
		{"169.254.169.254", false, false},
		{"fd00:ec2::254", false, false},
		{"0.0.0.0", false, false},
		{"0.1.2.3", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"255.255.255.255", false, false},
	} {
		a := netip.MustParseAddr(c.addr)
		if got := webhook.Check(a, false) == nil; got != c.strict {
			t.Errorf("Check(%s, false) allowed = %v, want %v", c.addr, got, c.strict)
		}
		if got := webhook.Check(a, true) == nil; got != c.loose {
			t.Errorf("Check(%s, true) allowed = %v, want %v", c.addr, got, c.loose)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url           string
		strict, loose bool
	}{
		{"https://hooks.example.com/roster?x=1", true, true},
		{"http://93.184.215.14:8080/in", true, true},
		{"https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/", true, true},
		{"http://127.0.0.1:9000/", false, true},
		{"http://localhost/", false, true},
		{"http://LOCALHOST./", false, true},
		{"http://api.localhost/", false, true},
		{"http://[::1]/", false, true},
		{"http://[fe80::1%25eth0]/", false, true},
		{"http://10.0.0.8/", false, true},
		{"http://169.254.169.254/latest/meta-data/", false, false},
		{"http://2130706433/", false, false},
		{"http://0x7f000001/", false, false},
		{"http://127.1/", false, false},
		{"ftp://hooks.example.com/", false, false},
		{"hooks.example.com/path", false, false},
		{"https:///path", false, false},
		{"https://user:pass@hooks.example.com/", false, false},
		{"https://hooks.example.com:0/", false, false},
		{"", false, false},
		{"https://hooks.example.com/" + strings.Repeat("a", roster.MaxWebhookURLLength), false, false},
	} {
		if got := webhook.CheckURL(c.url, false) == nil; got != c.strict {
			t.Errorf("CheckURL(%q, false) allowed = %v, want %v", c.url, got, c.strict)
		}
		if got := webhook.CheckURL(c.url, true) == nil; got != c.loose {
			t.Errorf("CheckURL(%q, true) allowed = %v, want %v", c.url, got, c.loose)
		}
		if err := webhook.CheckURL(c.url, false); err != nil && roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("CheckURL(%q): %v is not a validation error", c.url, err)
		}
	}
}

// TestClientGuard sends through the delivery client to a loopback server:
// refused without allowPrivate, also when the URL names a host that
// resolves to the loopback address, and sent with it.
func TestClientGuard(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	byName := "http://localhost:" + u.Port() + "/hook"
	for _, target := range []string{srv.URL, byName} {
		resp, err := webhook.NewClient(false).Post(target, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("POST %s was sent", target)
		}
		if !webhook.IsRefused(err) || !strings.Contains(err.Error(), "loopback") {
			t.Fatalf("POST %s: %v, want a refusal", target, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server got %d requests", n)
	}
	resp, err := webhook.NewClient(true).Post(byName, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Fatal("allowPrivate did not send")
	}
}

func TestClientFollowsNoRedirect(t *testing.T) {
	var followed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Store(true)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	resp, err := webhook.NewClient(true).Post(srv.URL+"/hook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || followed.Load() {
		t.Fatalf("status %d, followed %v", resp.StatusCode, followed.Load())
	}
}
