package web_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

func secureToken() (string, []byte) { return secure.NewToken() }

// TestLoginFlows covers sign-in, the forced password change, sign-out and
// the checks every request makes against fresh rows.
func TestLoginFlows(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.t = t
		root := e.login("root@example.com", testPassword)

		t.Run("TemporaryPasswordThenChange", func(t *testing.T) {
			e.t = t
			var created struct {
				ID                int64  `json:"id"`
				TemporaryPassword string `json:"temporary_password"`
			}
			e.expect("POST", "/api/v1/users", root, map[string]any{"auth_method": "login", "login": "NewAgent",
				"first_name": "New", "last_name": "Agent", "role_ids": []int64{e.roles[roster.RoleEmployee]}, "company_id": e.acme.ID}, 201).JSON(t, &created)
			if len(created.TemporaryPassword) < 12 {
				t.Fatalf("temporary password %q", created.TemporaryPassword)
			}
			var step struct {
				PasswordChangeRequired bool   `json:"password_change_required"`
				ChangeToken            string `json:"change_token"`
				Token                  string `json:"token"`
			}
			e.expect("POST", "/api/v1/auth/login", "", map[string]string{"username": "newagent", "password": created.TemporaryPassword}, 200).JSON(t, &step)
			if !step.PasswordChangeRequired || step.ChangeToken == "" || step.Token != "" {
				t.Fatalf("first sign-in: %+v", step)
			}
			// The change token is not a bearer token.
			e.expect("GET", "/api/v1/me", step.ChangeToken, nil, 401)
			e.run(t, []scenario{
				{name: "TooShort", method: "POST", url: "/api/v1/auth/password-change",
					body: map[string]string{"change_token": step.ChangeToken, "new_password": "short"}, wantStatus: 422, wantField: "new_password"},
				{name: "Common", method: "POST", url: "/api/v1/auth/password-change",
					body: map[string]string{"change_token": step.ChangeToken, "new_password": "password1234567"}, wantStatus: 422, wantField: "new_password"},
				{name: "ContainsLogin", method: "POST", url: "/api/v1/auth/password-change",
					body: map[string]string{"change_token": step.ChangeToken, "new_password": "my newagent secret"}, wantStatus: 422, wantField: "new_password"},
				{name: "WrongToken", method: "POST", url: "/api/v1/auth/password-change",
					body: map[string]string{"change_token": "x", "new_password": "dispatch tower seven"}, wantStatus: 401},
			})
			var done struct {
				Token string       `json:"token"`
				User  *roster.User `json:"user"`
			}
			e.expect("POST", "/api/v1/auth/password-change", "", map[string]string{"change_token": step.ChangeToken, "new_password": "dispatch tower seven"}, 200).JSON(t, &done)
			if done.Token == "" || done.User == nil || done.User.ID != created.ID {
				t.Fatalf("password change: %+v", done)
			}
			e.expect("GET", "/api/v1/me", done.Token, nil, 200)
			// The change token was used up.
			e.expect("POST", "/api/v1/auth/password-change", "", map[string]string{"change_token": step.ChangeToken, "new_password": "another fine phrase"}, 401)
			// The new password signs in directly, the temporary one no longer.
			e.login("NEWAGENT", "dispatch tower seven")
			e.expect("POST", "/api/v1/auth/login", "", map[string]string{"username": "newagent", "password": created.TemporaryPassword}, 401)
		})

		t.Run("SameAnswerForEveryRefusal", func(t *testing.T) {
			e.t = t
			blocked := e.victim()
			e.expect("POST", path("/api/v1/users/%d/block", blocked.ID), root, map[string]string{"comment": "gone"}, 200)
			invited := e.invited()
			wrong := e.expect("POST", "/api/v1/auth/login", "", map[string]string{"username": "emp", "password": "not the password"}, 401)
			for name, creds := range map[string]map[string]string{
				"Blocked":  {"username": blocked.Login, "password": testPassword},
				"Unknown":  {"username": "nobody@example.com", "password": testPassword},
				"Invited":  {"username": invited.Email, "password": ""},
				"Invited2": {"username": invited.Email, "password": testPassword},
			} {
				r := e.do("POST", "/api/v1/auth/login", "", creds)
				if name == "Invited" {
					// An empty password is bad input, not a refused sign-in.
					if r.Status != 422 {
						t.Errorf("%s: status %d", name, r.Status)
					}
					continue
				}
				if r.Status != 401 || !bytes.Equal(withoutRequestID(r.Body), withoutRequestID(wrong.Body)) {
					t.Errorf("%s: %d %s, want the wrong-password answer %s", name, r.Status, r.Body, wrong.Body)
				}
			}
		})

		t.Run("RefusalsAreLoggedWithAddress", func(t *testing.T) {
			e.t = t
			e.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "emp", "password": "guess guess guess"})
			var page struct {
				Items []roster.Event `json:"items"`
			}
			e.expect("GET", path("/api/v1/events?type=auth.sign_in_failed&user_id=%d", e.users["emp"].ID), root, nil, 200).JSON(t, &page)
			if len(page.Items) == 0 || page.Items[0].Address != "192.0.2.1" || page.Items[0].ActorID != nil {
				t.Fatalf("sign-in failure events: %+v", page.Items)
			}
		})

		t.Run("LogoutKillsToken", func(t *testing.T) {
			e.t = t
			tok := e.login("disp", testPassword)
			e.expect("GET", "/api/v1/me", tok, nil, 200)
			e.expect("POST", "/api/v1/auth/logout", tok, nil, 204)
			e.expect("GET", "/api/v1/me", tok, nil, 401)
		})

		t.Run("BlockedUserTokenDiesAtOnce", func(t *testing.T) {
			e.t = t
			v := e.victim()
			tok := e.login(v.Login, testPassword)
			e.expect("GET", "/api/v1/me", tok, nil, 200)
			e.expect("POST", path("/api/v1/users/%d/block", v.ID), root, map[string]string{"comment": "left"}, 200)
			e.expect("GET", "/api/v1/me", tok, nil, 401)
			e.expect("POST", path("/api/v1/users/%d/unblock", v.ID), root, map[string]string{"comment": "back"}, 200)
			e.expect("GET", "/api/v1/me", tok, nil, 401) // the old session stays dead
			e.login(v.Login, testPassword)
		})

		t.Run("RoleChangeAppliesNextRequest", func(t *testing.T) {
			e.t = t
			v := e.user(e.acme.ID, "promoted", roster.RoleEmployee)
			tok := e.login("promoted", testPassword)
			e.expect("GET", "/api/v1/users", tok, nil, 403)
			e.expect("PUT", path("/api/v1/users/%d/roles", v.ID), root, map[string]any{"role_ids": []int64{e.roles[roster.RoleDispatcher]}}, 200)
			e.expect("GET", "/api/v1/users", tok, nil, 200)
			var me struct {
				Permissions []string `json:"permissions"`
			}
			e.expect("GET", "/api/v1/me", tok, nil, 200).JSON(t, &me)
			if len(me.Permissions) != 3 {
				t.Errorf("dispatcher permissions: %v", me.Permissions)
			}
		})

		t.Run("IdleAndAbsoluteExpiry", func(t *testing.T) {
			e.t = t
			tok := e.login("disp", testPassword)
			e.clock.Advance(roster.DefaultIdleTimeout - time.Minute)
			e.expect("GET", "/api/v1/me", tok, nil, 200) // activity moves the idle deadline
			e.clock.Advance(roster.DefaultIdleTimeout - time.Minute)
			e.expect("GET", "/api/v1/me", tok, nil, 200)
			e.clock.Advance(roster.DefaultIdleTimeout + time.Second)
			e.expect("GET", "/api/v1/me", tok, nil, 401)

			tok = e.login("disp", testPassword)
			for i := 0; i < int(roster.DefaultAbsoluteExpiry/(20*time.Minute)); i++ {
				e.clock.Advance(20 * time.Minute)
				e.do("GET", "/api/v1/me", tok, nil)
			}
			e.clock.Advance(20 * time.Minute)
			e.expect("GET", "/api/v1/me", tok, nil, 401)
		})

		t.Run("BadTokens", func(t *testing.T) {
			e.t = t
			e.run(t, []scenario{
				{name: "Garbage", method: "GET", url: "/api/v1/me", token: "garbage", wantStatus: 401},
				{name: "WellFormedUnknown", method: "GET", url: "/api/v1/me", token: func() string { s, _ := secure.NewToken(); return s }(), wantStatus: 401},
				{name: "NoToken", method: "GET", url: "/api/v1/me", wantStatus: 401, wantBody: []string{"Bearer"}},
			})
		})
	})
}
