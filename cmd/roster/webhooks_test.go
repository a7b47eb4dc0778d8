package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWebhooksAllowPrivateConfig: the switch is off by default and takes
// only true or false, from the flag or ROSTER_WEBHOOKS_ALLOW_PRIVATE; the
// flag wins.
func TestWebhooksAllowPrivateConfig(t *testing.T) {
	for _, c := range []struct {
		name, env string
		args      []string
		want      bool
		wantErr   string
	}{
		{name: "Default", want: false},
		{name: "Flag", args: []string{"--webhooks-allow-private"}, want: true},
		{name: "FlagFalse", args: []string{"--webhooks-allow-private=false"}, want: false},
		{name: "FlagTypo", args: []string{"--webhooks-allow-private=yes"}, wantErr: "must be true or false"},
		{name: "FlagOne", args: []string{"--webhooks-allow-private=1"}, wantErr: "must be true or false"},
		{name: "Env", env: "true", want: true},
		{name: "EnvFalse", env: "false", want: false},
		{name: "EnvTypo", env: "TRUE", wantErr: "ROSTER_WEBHOOKS_ALLOW_PRIVATE"},
		{name: "EnvOne", env: "1", wantErr: "ROSTER_WEBHOOKS_ALLOW_PRIVATE"},
		{name: "FlagWins", env: "true", args: []string{"--webhooks-allow-private=false"}, want: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv("ROSTER_WEBHOOKS_ALLOW_PRIVATE", c.env)
			} else {
				t.Setenv("ROSTER_WEBHOOKS_ALLOW_PRIVATE", "")
				os.Unsetenv("ROSTER_WEBHOOKS_ALLOW_PRIVATE")
			}
			var cfg Config
			fs := newFlagSet("serve")
			cfg.registerCommon(fs)
			cfg.registerServe(fs)
			err := parse(fs, "", append([]string{"--data", t.TempDir()}, c.args...), &cfg, io.Discard)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.WebhooksAllowPrivate != c.want {
				t.Fatalf("WebhooksAllowPrivate = %v, want %v", cfg.WebhooksAllowPrivate, c.want)
			}
		})
	}
}

// TestEndToEndWebhooks boots the real program with
// ROSTER_WEBHOOKS_ALLOW_PRIVATE=true: a webhook on a loopback receiver gets
// a signed delivery of a user's creation, which its log then shows sent.
func TestEndToEndWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "roster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 4)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
	}))
	defer rc.Close()

	dbArgs := []string{"--data", t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, append([]string{"admin", "create", "--email", "root@example.com",
		"--password", "correct horse battery staple"}, dbArgs...)...).CombinedOutput(); err != nil {
		t.Fatalf("admin create: %v\n%s", err, out)
	}
	t.Setenv("ROSTER_WEBHOOKS_ALLOW_PRIVATE", "yes")
	if out, err := exec.CommandContext(ctx, bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, dbArgs...)...).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "ROSTER_WEBHOOKS_ALLOW_PRIVATE") {
		t.Fatalf("serve with a malformed switch: %v\n%s", err, out)
	}
	t.Setenv("ROSTER_WEBHOOKS_ALLOW_PRIVATE", "true")
	c := &client{t: t, base: startServer(t, ctx, bin, dbArgs)}
	root := c.login("root@example.com", "correct horse battery staple")
	var company struct{ ID int64 }
	c.do("POST", "/api/v1/companies", root, map[string]any{"name": "Acme Dispatch"}, 201, &company)
	var hook struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	c.do("POST", "/api/v1/webhooks", root, map[string]any{"company_id": company.ID, "url": rc.URL + "/roster",
		"event_types": []string{"user.created"}}, 201, &hook)
	roles := c.roles(root, company.ID)
	c.do("POST", "/api/v1/users", root, map[string]any{"auth_method": "login", "login": "agent7", "first_name": "Pavel",
		"last_name": "Orlov", "role_ids": []int64{roles["employee"]}, "company_id": company.ID}, 201, nil)

	var d delivery
	select {
	case d = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery within 30 s")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(hook.Secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, d.header.Get("webhook-id")+"."+d.header.Get("webhook-timestamp")+"."+string(d.body))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); d.header.Get("webhook-signature") != want {
		t.Fatalf("signature %q, want %q", d.header.Get("webhook-signature"), want)
	}
	if !strings.Contains(string(d.body), `"type":"user.created"`) || !strings.Contains(string(d.body), "Pavel Orlov") {
		t.Fatalf("body %s", d.body)
	}
	// The log shows it sent once the worker has recorded the answer.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var log struct {
			Items []struct {
				Status     string `json:"status"`
				LastStatus int    `json:"last_status"`
			} `json:"items"`
		}
		c.do("GET", "/api/v1/webhooks/"+strconv.FormatInt(hook.ID, 10)+"/deliveries", root, nil, 200, &log)
		if len(log.Items) == 1 && log.Items[0].Status == "sent" && log.Items[0].LastStatus == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery log %+v", log.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
