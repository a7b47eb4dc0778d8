package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster"
)

// api sends requests to any instance, from a client address of its choice
// (the instances trust 127.0.0.1 as a proxy).
type api struct {
	t      *testing.T
	client *http.Client
}

func newAPI(t *testing.T) *api { return &api{t: t, client: &http.Client{Timeout: 30 * time.Second}} }

// send sends a JSON request (as from address xff, when given) and returns
// status, headers and body, or the transport error.
func (a *api) send(base, method, path, token, xff string, body any) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, nil
}

// call is send for a request that must get an answer.
func (a *api) call(base, method, path, token, xff string, body any) (int, http.Header, []byte) {
	a.t.Helper()
	st, h, data, err := a.send(base, method, path, token, xff, body)
	if err != nil {
		a.t.Fatalf("%s %s%s: %v", method, base, path, err)
	}
	return st, h, data
}

// try is send for a request the test expects may fail (a server being
// killed): a transport error answers status 0.
func (a *api) try(base, method, path, token, xff string, body any) (int, http.Header, []byte) {
	st, h, data, _ := a.send(base, method, path, token, xff, body)
	return st, h, data
}

// want is call that checks the status and decodes the answer into out.
func (a *api) want(base, method, path, token string, body any, status int, out any) {
	a.t.Helper()
	got, _, data := a.call(base, method, path, token, "", body)
	if got != status {
		a.t.Fatalf("%s %s%s: %d, want %d: %s", method, base, path, got, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

func (a *api) login(base, username, password string) string {
	a.t.Helper()
	var resp struct {
		Token       string `json:"token"`
		ChangeToken string `json:"change_token"`
	}
	a.want(base, "POST", "/api/v1/auth/login", "", map[string]string{"username": username, "password": password}, 200, &resp)
	if resp.Token == "" {
		a.t.Fatalf("login %s: no token", username)
	}
	return resp.Token
}

// mkUser creates a login-method user on base and gives it a permanent
// password through the other instance; it returns the id.
func (a *api) mkUser(base, other, token string, company int64, login string, roleID int64, password string) int64 {
	a.t.Helper()
	var u struct {
		ID                int64  `json:"id"`
		TemporaryPassword string `json:"temporary_password"`
	}
	a.want(base, "POST", "/api/v1/users", token, map[string]any{"auth_method": "login", "login": login, "first_name": "Op", "last_name": login,
		"role_ids": []int64{roleID}, "company_id": company}, 201, &u)
	var step struct {
		ChangeToken string `json:"change_token"`
	}
	a.want(other, "POST", "/api/v1/auth/login", "", map[string]string{"username": login, "password": u.TemporaryPassword}, 200, &step)
	a.want(base, "POST", "/api/v1/auth/password-change", "", map[string]string{"change_token": step.ChangeToken, "new_password": password}, 200, nil)
	return u.ID
}

func (a *api) roleIDs(base, token string, company int64) map[string]int64 {
	a.t.Helper()
	var list struct {
		Items []struct {
			ID  int64  `json:"id"`
			Key string `json:"key"`
		} `json:"items"`
	}
	a.want(base, "GET", fmt.Sprintf("/api/v1/roles?company_id=%d", company), token, nil, 200, &list)
	m := map[string]int64{}
	for _, r := range list.Items {
		m[r.Key] = r.ID
	}
	return m
}

// countingTelegram is a Telegram Bot API fake counting sendMessage texts.
type countingTelegram struct {
	mu    sync.Mutex
	texts map[string]int
	srv   *httptest.Server
}

func newCountingTelegram(t *testing.T) *countingTelegram {
	c := &countingTelegram{texts: map[string]int{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text string `json:"text"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		c.mu.Lock()
		c.texts[body.Text]++
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"result":{"message_id":1}}`)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *countingTelegram) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.texts {
		out[k] = v
	}
	return out
}

// TestTwoInstances starts two real `roster serve` processes on one
// PostgreSQL database and checks that they behave as one: sessions,
// blocks and role changes made on one hold on the other at the next
// request; failure counters add up; each job is delivered once although
// both workers run; dialogue maxima hold under concurrent requests to both.
func TestTwoInstances(t *testing.T) {
	bin := rosterBinary(t)
	dbArgs := []string{"--database-url", freshPostgresDatabase(t)}
	createRoot(t, bin, dbArgs)
	inbox := startInbox(t)
	tg := newCountingTelegram(t)
	env := []string{"ROSTER_SMTP_URL=smtp://" + inbox.addr + "?tls=none", "ROSTER_SMTP_FROM=roster@example.com",
		"ROSTER_SECRET_KEY=a cluster test master key of 32+ bytes", "ROSTER_TRUSTED_PROXIES=127.0.0.1",
		"ROSTER_TELEGRAM_API_URL=" + tg.srv.URL}
	A := serve(t, bin, dbArgs, env...).base
	B := serve(t, bin, dbArgs, env...).base
	c := newAPI(t)

	// A session made on A works on B.
	root := c.login(A, "root@example.com", rootPassword)
	c.want(B, "GET", "/api/v1/me", root, nil, 200, nil)

	var company struct{ ID int64 }
	c.want(B, "POST", "/api/v1/companies", root, map[string]any{"name": "Cluster Co"}, 201, &company)
	roles := c.roleIDs(A, root, company.ID)
	adminID := c.mkUser(A, B, root, company.ID, "boss", roles[roster.RoleCompanyAdmin], "corner office keys")
	boss := c.login(B, "boss", "corner office keys")
	_ = adminID

	t.Run("RoleChangeAppliesAtOnce", func(t *testing.T) {
		id := c.mkUser(B, A, root, company.ID, "climber", roles[roster.RoleEmployee], "rope and harness")
		tok := c.login(A, "climber", "rope and harness")
		usersPath := fmt.Sprintf("/api/v1/users?company_id=%d", company.ID)
		c.want(B, "GET", usersPath, tok, nil, 403, nil)
		c.want(A, "PUT", fmt.Sprintf("/api/v1/users/%d/roles", id), boss, map[string]any{"role_ids": []int64{roles[roster.RoleManager]}}, 200, nil)
		c.want(B, "GET", usersPath, tok, nil, 200, nil)
		c.want(B, "PUT", fmt.Sprintf("/api/v1/users/%d/roles", id), boss, map[string]any{"role_ids": []int64{roles[roster.RoleEmployee]}}, 200, nil)
		c.want(A, "GET", usersPath, tok, nil, 403, nil)
	})

	t.Run("BlockRefusedOnOtherAtNextRequest", func(t *testing.T) {
		id := c.mkUser(A, B, root, company.ID, "leaver", roles[roster.RoleEmployee], "a quiet farewell")
		onA, onB := c.login(A, "leaver", "a quiet farewell"), c.login(B, "leaver", "a quiet farewell")
		c.want(A, "GET", "/api/v1/me", onA, nil, 200, nil)
		c.want(B, "GET", "/api/v1/me", onB, nil, 200, nil)
		c.want(A, "POST", fmt.Sprintf("/api/v1/users/%d/block", id), boss, map[string]string{"comment": "left"}, 200, nil)
		c.want(B, "GET", "/api/v1/me", onA, nil, 401, nil)
		c.want(B, "GET", "/api/v1/me", onB, nil, 401, nil)
		c.want(A, "GET", "/api/v1/me", onB, nil, 401, nil)
	})

	t.Run("AccountFailuresAddUp", func(t *testing.T) {
		c.mkUser(A, B, root, company.ID, "target", roles[roster.RoleEmployee], "bullseye arrow")
		const addr = "203.0.113.5"
		// LoginDelayFrom failures, alternating: neither instance alone saw that many.
		for i := range roster.LoginDelayFrom {
			base := []string{A, B}[i%2]
			if st, _, body := c.call(base, "POST", "/api/v1/auth/login", "", addr, map[string]string{"username": "target", "password": "wrong"}); st != 401 {
				t.Fatalf("failure %d: %d %s", i, st, body)
			}
		}
		for _, base := range []string{A, B} {
			st, h, body := c.call(base, "POST", "/api/v1/auth/login", "", addr, map[string]string{"username": "target", "password": "bullseye arrow"})
			if st != 429 || h.Get("Retry-After") == "" {
				t.Fatalf("after %d failures split over both: %d %s", roster.LoginDelayFrom, st, body)
			}
		}
	})

	t.Run("AddressThrottleAddsUp", func(t *testing.T) {
		const addr = "203.0.113.77"
		for i := range roster.AddressMaxFailures {
			base := []string{A, B}[i%2]
			if st, _, body := c.call(base, "POST", "/api/v1/auth/login", "", addr, map[string]string{"username": fmt.Sprint("nobody", i), "password": "x"}); st != 401 {
				t.Fatalf("failure %d: %d %s", i, st, body)
			}
		}
		for _, base := range []string{A, B} {
			if st, _, body := c.call(base, "POST", "/api/v1/auth/login", "", addr, map[string]string{"username": "boss", "password": "corner office keys"}); st != 429 {
				t.Fatalf("address after %d failures split over both: %d %s", roster.AddressMaxFailures, st, body)
			}
		}
	})

	t.Run("JobsDeliveredOnce", func(t *testing.T) {
		c.want(A, "PATCH", fmt.Sprintf("/api/v1/companies/%d/operations", company.ID), boss, map[string]any{"telegram_bot_token": "123:ABC"}, 200, nil)
		c.want(B, "PUT", "/api/v1/me/notifications", boss, map[string]any{"telegram_chat_id": "-1001",
			"subscriptions": []map[string]any{{"event_type": "user.blocked", "channels": []string{"telegram"}}}}, 200, nil)
		const n = 12
		var wg sync.WaitGroup
		ids := make([]int64, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var u struct{ ID int64 }
				c.want([]string{A, B}[i%2], "POST", "/api/v1/users", boss, map[string]any{"auth_method": "email", "email": fmt.Sprintf("invitee%d@mail.example", i),
					"role_ids": []int64{roles[roster.RoleEmployee]}, "company_id": company.ID}, 201, &u)
				ids[i] = u.ID
			}()
		}
		wg.Wait()
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.want([]string{B, A}[i%2], "POST", fmt.Sprintf("/api/v1/users/%d/block", id), boss, map[string]string{"comment": fmt.Sprint("batch ", i)}, 200, nil)
			}()
		}
		wg.Wait()
		deadline := time.Now().Add(30 * time.Second)
		for {
			inbox.mu.Lock()
			mails := len(inbox.msgs)
			inbox.mu.Unlock()
			sent := 0
			for _, k := range tg.snapshot() {
				sent += k
			}
			if mails >= n && sent >= n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivered %d e-mails and %d notifications of %d", mails, sent, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Both workers keep polling: nothing may come twice.
		time.Sleep(3 * time.Second)
		inbox.mu.Lock()
		msgs := append([]string{}, inbox.msgs...)
		inbox.mu.Unlock()
		if len(msgs) != n {
			t.Errorf("%d e-mails for %d invitations", len(msgs), n)
		}
		for i := range n {
			addr := fmt.Sprintf("invitee%d@mail.example", i)
			k := 0
			for _, m := range msgs {
				if regexp.MustCompile(`(?m)^To: .*\b` + regexp.QuoteMeta(addr)).MatchString(m) {
					k++
				}
			}
			if k != 1 {
				t.Errorf("%s got %d invitations", addr, k)
			}
		}
		texts := tg.snapshot()
		if len(texts) != n {
			t.Errorf("%d distinct notifications, want %d: %v", len(texts), n, texts)
		}
		for text, k := range texts {
			if k != 1 {
				t.Errorf("notification sent %d times: %q", k, text)
			}
		}
	})

	t.Run("DialogueMaximumHolds", func(t *testing.T) {
		const max1, max2 = 7, 5
		op1 := c.mkUser(A, B, root, company.ID, "chat1", roles[roster.RoleChatOperator], "chat one password")
		op2 := c.mkUser(B, A, root, company.ID, "chat2", roles[roster.RoleChatOperator], "chat two password")
		c.want(A, "PATCH", fmt.Sprintf("/api/v1/users/%d", op1), boss, map[string]any{"max_dialogues": max1}, 200, nil)
		c.want(B, "PATCH", fmt.Sprintf("/api/v1/users/%d", op2), boss, map[string]any{"max_dialogues": max2}, 200, nil)
		t1, t2 := c.login(A, "chat1", "chat one password"), c.login(B, "chat2", "chat two password")
		c.want(A, "PUT", "/api/v1/me/presence", t1, map[string]string{"status": "online"}, 200, nil)
		c.want(B, "PUT", "/api/v1/me/presence", t2, map[string]string{"status": "online"}, 200, nil)
		var mu sync.Mutex
		count := map[int64]int{}
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for i := range 2 * (max1 + max2) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _, body := c.call([]string{A, B}[i%2], "POST", "/api/v1/dialogues", []string{t1, t2}[i%2], "", map[string]string{"external_id": fmt.Sprint("chat-", i)})
				var d struct {
					OperatorID int64 `json:"operator_id"`
				}
				json.Unmarshal(body, &d)
				mu.Lock()
				defer mu.Unlock()
				statuses[st]++
				if st == 201 {
					count[d.OperatorID]++
				}
			}()
		}
		wg.Wait()
		if count[op1] != max1 || count[op2] != max2 || statuses[201] != max1+max2 || statuses[409] != max1+max2 {
			t.Fatalf("assigned %v, statuses %v; want %d and %d, the rest 409", count, statuses, max1, max2)
		}
		for _, u := range []struct {
			id  int64
			max int
		}{{op1, max1}, {op2, max2}} {
			var got struct {
				ActiveDialogues int `json:"active_dialogues"`
			}
			c.want(B, "GET", fmt.Sprintf("/api/v1/users/%d", u.id), boss, nil, 200, &got)
			if got.ActiveDialogues != u.max {
				t.Errorf("user %d: %d active dialogues, want %d", u.id, got.ActiveDialogues, u.max)
			}
		}
	})
}
