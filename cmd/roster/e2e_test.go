package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/roster-app/roster/internal/ci"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/roster-app/roster/web/webtest"
)

// TestEndToEnd builds the real binary, starts it on :0 and walks the core
// flow through the REST API, on SQLite and (when configured) PostgreSQL.
func TestEndToEnd(t *testing.T) {
	bin := rosterBinary(t)
	t.Run("SQLite", func(t *testing.T) {
		walk(t, bin, []string{"--data", t.TempDir()})
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		walk(t, bin, []string{"--database-url", freshPostgresDatabase(t)})
	})
}

// freshPostgresDatabase creates a database for one test and drops it after.
func freshPostgresDatabase(t *testing.T) string {
	base := os.Getenv("ROSTER_TEST_POSTGRES_URL")
	if base == "" {
		ci.Missing(t, "PostgreSQL: set ROSTER_TEST_POSTGRES_URL")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := fmt.Sprintf("roster_e2e_%d", rand.Uint64()%1e12)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func walk(t *testing.T, bin string, dbArgs []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Create the Main administrator non-interactively.
	out, err := exec.CommandContext(ctx, bin, append([]string{"admin", "create", "--email", "Root@Example.com",
		"--password", "correct horse battery staple"}, dbArgs...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Main administrator root@example.com created") {
		t.Fatalf("admin create: %v\n%s", err, out)
	}
	// A second one is refused.
	out, err = exec.CommandContext(ctx, bin, append([]string{"admin", "create", "--email", "two@example.com",
		"--password", "another long passphrase"}, dbArgs...)...).CombinedOutput()
	if err == nil {
		t.Fatalf("second admin create succeeded:\n%s", out)
	}

	base := startServer(t, ctx, bin, dbArgs)
	c := &client{t: t, base: base}

	// Health and the API description answer without a token.
	c.do("GET", "/healthz", "", nil, 200, nil)
	var doc map[string]any
	c.do("GET", "/api/v1/openapi.json", "", nil, 200, &doc)
	if doc["openapi"] == nil {
		t.Fatalf("openapi document has no version: %v", doc)
	}

	// The panel is mounted beside the API.
	if page := c.do("GET", "/signin", "", nil, 200, nil); !bytes.Contains(page, []byte(`<form`)) {
		t.Fatalf("sign-in page has no form:\n%s", page)
	}

	root := c.login("root@example.com", "correct horse battery staple")

	// A company and its administrator (login method).
	var company struct{ ID int64 }
	c.do("POST", "/api/v1/companies", root, map[string]any{"name": "Acme Dispatch"}, 201, &company)
	roles := c.roles(root, company.ID)
	var admin struct {
		ID                int64  `json:"id"`
		TemporaryPassword string `json:"temporary_password"`
	}
	c.do("POST", "/api/v1/users", root, map[string]any{
		"auth_method": "login", "login": "AcmeBoss", "first_name": "Olga", "last_name": "Petrova",
		"role_ids": []int64{roles["company_admin"]}, "company_id": company.ID,
	}, 201, &admin)
	if len(admin.TemporaryPassword) < 12 {
		t.Fatalf("temporary password %q", admin.TemporaryPassword)
	}

	// Forced password change at the first sign-in.
	var step struct {
		PasswordChangeRequired bool   `json:"password_change_required"`
		ChangeToken            string `json:"change_token"`
		Token                  string `json:"token"`
	}
	c.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "acmeboss", "password": admin.TemporaryPassword}, 200, &step)
	if !step.PasswordChangeRequired || step.ChangeToken == "" || step.Token != "" {
		t.Fatalf("first sign-in: %+v", step)
	}
	c.do("POST", "/api/v1/auth/password-change", "", map[string]any{"change_token": step.ChangeToken, "new_password": "short"}, 422, nil)
	c.do("POST", "/api/v1/auth/password-change", "", map[string]any{"change_token": step.ChangeToken, "new_password": "dispatch tower seven"}, 200, &step)
	if step.Token == "" {
		t.Fatal("password change returned no token")
	}
	boss := c.login("acmeboss", "dispatch tower seven")

	// The company administrator creates users.
	var me struct {
		User struct {
			CompanyID int64 `json:"company_id"`
		} `json:"user"`
		Permissions []string `json:"permissions"`
	}
	c.do("GET", "/api/v1/me", boss, nil, 200, &me)
	if me.User.CompanyID != company.ID || len(me.Permissions) == 0 {
		t.Fatalf("me: %+v", me)
	}
	var agent struct {
		ID                int64  `json:"id"`
		Status            string `json:"status"`
		TemporaryPassword string `json:"temporary_password"`
	}
	c.do("POST", "/api/v1/users", boss, map[string]any{
		"auth_method": "login", "login": "ivanov7", "first_name": "Ivan", "last_name": "Ivanov",
		"phone": "+7 900 123-45-67", "role_ids": []int64{roles["employee"]},
	}, 201, &agent)
	var invited struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	c.do("POST", "/api/v1/users", boss, map[string]any{
		"auth_method": "email", "email": "maria@acme.example", "role_ids": []int64{roles["dispatcher"]},
	}, 201, &invited)
	if invited.Status != "invited" {
		t.Fatalf("invited user status %q", invited.Status)
	}
	// Company administrator is granted only by the Main administrator.
	c.do("POST", "/api/v1/users", boss, map[string]any{
		"auth_method": "login", "login": "sneaky", "first_name": "S", "last_name": "N",
		"role_ids": []int64{roles["company_admin"]},
	}, 403, nil)

	// Search narrows the list.
	var page struct {
		Items []struct{ ID int64 } `json:"items"`
		Total int                  `json:"total"`
	}
	c.do("GET", "/api/v1/users?q=IVAN", boss, nil, 200, &page)
	if page.Total != 1 || len(page.Items) != 1 || page.Items[0].ID != agent.ID {
		t.Fatalf("search ivan: %+v", page)
	}
	c.do("GET", "/api/v1/users?status=invited", boss, nil, 200, &page)
	if page.Total != 1 || page.Items[0].ID != invited.ID {
		t.Fatalf("filter invited: %+v", page)
	}

	// The agent signs in (forced change), then is blocked: refused, and the
	// token in hand dies at once.
	c.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "ivanov7", "password": agent.TemporaryPassword}, 200, &step)
	c.do("POST", "/api/v1/auth/password-change", "", map[string]any{"change_token": step.ChangeToken, "new_password": "headset and coffee"}, 200, &step)
	agentToken := step.Token
	c.do("GET", "/api/v1/me", agentToken, nil, 200, nil)
	agentPath := fmt.Sprintf("/api/v1/users/%d", agent.ID)
	c.do("POST", agentPath+"/block", boss, map[string]any{"comment": ""}, 422, nil)
	c.do("POST", agentPath+"/block", boss, map[string]any{"comment": "Left the shift without notice"}, 200, nil)
	c.do("GET", "/api/v1/me", agentToken, nil, 401, nil)
	wrong := c.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "ivanov7", "password": "not the password"}, 401, nil)
	blocked := c.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "ivanov7", "password": "headset and coffee"}, 401, nil)
	// Alike but for the request id, which every answer has its own of.
	sansID := regexp.MustCompile(`,"request_id":"[^"]*"`)
	if !bytes.Equal(sansID.ReplaceAll(wrong, nil), sansID.ReplaceAll(blocked, nil)) {
		t.Fatalf("blocked and wrong-password answers differ:\n%s\n%s", wrong, blocked)
	}

	// Unblock: signing in works again.
	c.do("POST", agentPath+"/unblock", boss, map[string]any{"comment": "Explained, back on duty"}, 200, nil)
	c.login("ivanov7", "headset and coffee")

	// The event log tells the story with the actor.
	var events struct {
		Items []struct {
			Type    string `json:"type"`
			ActorID *int64 `json:"actor_id"`
		} `json:"items"`
	}
	c.do("GET", fmt.Sprintf("/api/v1/events?user_id=%d", agent.ID), boss, nil, 200, &events)
	seen := map[string]bool{}
	for _, e := range events.Items {
		seen[e.Type] = true
	}
	for _, want := range []string{"user.created", "user.blocked", "user.unblocked"} {
		if !seen[want] {
			t.Errorf("event %s missing from %+v", want, events.Items)
		}
	}

	// Delete: gone for good.
	c.do("DELETE", agentPath, boss, nil, 204, nil)
	c.do("GET", agentPath, boss, nil, 404, nil)
	c.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "ivanov7", "password": "headset and coffee"}, 401, nil)

	// Another company's user is simply not found for this administrator.
	var other struct{ ID int64 }
	c.do("POST", "/api/v1/companies", root, map[string]any{"name": "Other Co"}, 201, &other)
	otherRoles := c.roles(root, other.ID)
	var stranger struct{ ID int64 }
	c.do("POST", "/api/v1/users", root, map[string]any{
		"auth_method": "login", "login": "stranger", "first_name": "A", "last_name": "B",
		"role_ids": []int64{otherRoles["employee"]}, "company_id": other.ID,
	}, 201, &stranger)
	c.do("GET", fmt.Sprintf("/api/v1/users/%d", stranger.ID), boss, nil, 404, nil)
}

// logged500 matches a server log line of an internal error: the API's
// "internal error", the panel's error record, a request answered 500.
var logged500 = regexp.MustCompile(`level=ERROR .*(msg="internal error"|msg=panel |msg="panel: render error page"|status=500\b)`)

// startServer runs `roster serve` on a free port and returns its base URL.
func startServer(t *testing.T, ctx context.Context, bin string, dbArgs []string) string {
	cmd := exec.CommandContext(ctx, bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, dbArgs...)...)
	cmd.Env = append(os.Environ(), "ROSTER_LOG_LEVEL=warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
		// No request of the run may have been answered with a 500.
		for _, line := range strings.Split(stderr.String(), "\n") {
			if logged500.MatchString(line) {
				t.Errorf("the server logged a 500: %s", line)
			}
		}
	})
	re := regexp.MustCompile(`listening on (http://\S+)`)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before listening:\n%s", stderr.String())
			}
			if m := re.FindStringSubmatch(line); m != nil {
				go func() {
					for range lines {
					}
				}()
				return m[1]
			}
		case <-timeout:
			t.Fatalf("server did not start:\n%s", stderr.String())
		}
	}
}

type client struct {
	t    *testing.T
	base string
}

// do sends a JSON request and checks the status; it returns the body.
func (c *client) do(method, path, token string, body any, want int, out any) []byte {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	// Every exchange with the real binary is checked against the served
	// OpenAPI document.
	resp, err := (&http.Client{Transport: webtest.Transport(c.t, nil)}).Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return data
}

func (c *client) login(username, password string) string {
	c.t.Helper()
	var resp struct{ Token string }
	c.do("POST", "/api/v1/auth/login", "", map[string]any{"username": username, "password": password}, 200, &resp)
	if resp.Token == "" {
		c.t.Fatalf("login %s: no token", username)
	}
	return resp.Token
}

// roles maps role keys to IDs for a company.
func (c *client) roles(token string, companyID int64) map[string]int64 {
	c.t.Helper()
	var list struct {
		Items []struct {
			ID  int64  `json:"id"`
			Key string `json:"key"`
		} `json:"items"`
	}
	c.do("GET", fmt.Sprintf("/api/v1/roles?company_id=%d", companyID), token, nil, 200, &list)
	m := map[string]int64{}
	for _, r := range list.Items {
		m[r.Key] = r.ID
	}
	for _, k := range []string{"company_admin", "dispatcher", "employee"} {
		if m[k] == 0 {
			c.t.Fatalf("role %s missing: %+v", k, list.Items)
		}
	}
	return m
}
