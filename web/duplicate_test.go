package web_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/roster-app/roster"
)

// TestDuplicateElsewhereLooksTheSame checks the choice documented in the
// README (issue 11, finding 10): e-mail addresses and logins are unique
// across the installation, because they sign in; creating a user whose
// e-mail or login another company holds answers exactly what it answers
// when the administrator's own company holds it — the same 409, the same
// words, the same field — and any other refusal of the request comes
// first and looks the same in both cases.
func TestDuplicateElsewhereLooksTheSame(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		existing := func(company int64, email, login string) {
			u := &roster.User{CompanyID: company, AuthMethod: roster.AuthEmail, Email: email, Login: login, FirstName: "Held", LastName: "Already",
				Status: roster.StatusActive, PasswordHash: e.hash(testPassword)}
			role := e.roleID(company, roster.RoleEmployee)
			must(t, e.store.CreateUser(ctx, u, []int64{role}, nil, e.now()))
		}
		existing(e.acme.ID, "mine@example.com", "minelogin")
		existing(e.other.ID, "theirs@example.com", "theirslogin")
		admin := e.token("admin")
		emp := e.roles[roster.RoleEmployee]
		for _, tc := range []struct {
			name        string
			own, others map[string]any
			status      int
		}{
			{"Email",
				map[string]any{"auth_method": "email", "email": "mine@example.com", "role_ids": []int64{emp}},
				map[string]any{"auth_method": "email", "email": "theirs@example.com", "role_ids": []int64{emp}}, 409},
			{"EmailOtherCase",
				map[string]any{"auth_method": "email", "email": " Mine@Example.com", "role_ids": []int64{emp}},
				map[string]any{"auth_method": "email", "email": " Theirs@Example.com", "role_ids": []int64{emp}}, 409},
			{"Login",
				map[string]any{"auth_method": "login", "login": "minelogin", "first_name": "A", "last_name": "B", "role_ids": []int64{emp}},
				map[string]any{"auth_method": "login", "login": "theirslogin", "first_name": "A", "last_name": "B", "role_ids": []int64{emp}}, 409},
			{"EmailOfLoginUser",
				map[string]any{"auth_method": "login", "login": "fresh1", "email": "mine@example.com", "first_name": "A", "last_name": "B", "role_ids": []int64{emp}},
				map[string]any{"auth_method": "login", "login": "fresh1", "email": "theirs@example.com", "first_name": "A", "last_name": "B", "role_ids": []int64{emp}}, 409},
			{"WithAnInvalidField",
				map[string]any{"auth_method": "email", "email": "mine@example.com", "phone": "call me", "role_ids": []int64{emp}},
				map[string]any{"auth_method": "email", "email": "theirs@example.com", "phone": "call me", "role_ids": []int64{emp}}, 422},
			{"WithAnUnknownRole",
				map[string]any{"auth_method": "email", "email": "mine@example.com", "role_ids": []int64{999999}},
				map[string]any{"auth_method": "email", "email": "theirs@example.com", "role_ids": []int64{999999}}, 422},
			{"WithAManualPasswordNamingTheAddress",
				map[string]any{"auth_method": "email", "email": "mine@example.com", "credentials": "manual", "password": "mine@example.com and more", "role_ids": []int64{emp}},
				map[string]any{"auth_method": "email", "email": "theirs@example.com", "credentials": "manual", "password": "theirs@example.com and more", "role_ids": []int64{emp}}, 422},
		} {
			t.Run(tc.name, func(t *testing.T) {
				defer func(old *testing.T) { e.t = old }(e.t)
				e.t = t
				before := e.fingerprint()
				own := e.do("POST", "/api/v1/users", admin, tc.own)
				others := e.do("POST", "/api/v1/users", admin, tc.others)
				if own.Status != tc.status || others.Status != tc.status {
					t.Fatalf("own company %d, another company %d, want %d: %s / %s", own.Status, others.Status, tc.status, own.Body, others.Body)
				}
				if !bytes.Equal(withoutRequestID(own.Body), withoutRequestID(others.Body)) {
					t.Errorf("the answers differ:\nown:     %s\nanother: %s", own.Body, others.Body)
				}
				if own.Header.Get("Content-Type") != others.Header.Get("Content-Type") {
					t.Errorf("content types differ")
				}
				if e.fingerprint() != before {
					t.Errorf("a refused create wrote")
				}
			})
		}
	})
}
