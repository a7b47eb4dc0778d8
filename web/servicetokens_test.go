package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roster-app/roster"
)

func serviceTokenMatrixRows() []matrixRow {
	return []matrixRow{
		//                                                                                  anon root admin disp emp other reseller
		{"GET", "/api/v1/service-tokens", func(e *env) (string, any) { return path("/api/v1/service-tokens?company_id=%d", e.acme.ID), nil },
			w{401, 200, 200, 403, 403, 422, 200}},
		{"POST", "/api/v1/service-tokens", func(e *env) (string, any) {
			return "/api/v1/service-tokens", map[string]any{"company_id": e.acme.ID, "name": path("Telephony %d", e.seq.Add(1)),
				"permissions": []string{"users.view"}}
		}, w{401, 201, 201, 403, 403, 422, 201}},
		{"DELETE", "/api/v1/service-tokens/{id}", func(e *env) (string, any) {
			return path("/api/v1/service-tokens/%d", e.acmeServiceToken(roster.PermUsersView).ID), nil
		}, w{401, 204, 204, 403, 403, 404, 204}},
	}
}

// serviceTokenJSON is a service token as the API answers it.
type serviceTokenJSON struct {
	ID           int64      `json:"id"`
	CompanyID    int64      `json:"company_id"`
	Name         string     `json:"name"`
	Token        *string    `json:"token"`
	Permissions  []string   `json:"permissions"`
	ExpiresAt    *time.Time `json:"expires_at"`
	IPAllowlist  []string   `json:"ip_allowlist"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	LastUsedFrom string     `json:"last_used_from"`
}

// acmeServiceToken makes a token of Acme with perms, as its administrator.
func (e *env) acmeServiceToken(perms ...roster.Permission) serviceTokenJSON {
	e.t.Helper()
	var keys []string
	for _, p := range perms {
		keys = append(keys, string(p))
	}
	var out serviceTokenJSON
	e.expect("POST", "/api/v1/service-tokens", e.token("admin"), map[string]any{"name": path("Integration %d", e.seq.Add(1)),
		"permissions": keys}, 201).JSON(e.t, &out)
	return out
}

// from sends a request as if from addr.
func (e *env) from(addr, method, url, token string, body any) response {
	e.t.Helper()
	var data []byte
	if body != nil {
		var err error
		data, err = json.Marshal(body)
		must(e.t, err)
	}
	req := httptest.NewRequest(method, url, bytes.NewReader(data))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.RemoteAddr = addr + ":40000"
	return e.serve(req)
}

func TestServiceTokensAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin := e.token("admin")
		var created serviceTokenJSON
		e.expect("POST", "/api/v1/service-tokens", admin, map[string]any{"name": "Telephony",
			"permissions": []string{"users.block", "users.view"}}, 201).JSON(t, &created)
		secret := *created.Token

		t.Run("CreatedOnceStoredHashed", func(t *testing.T) {
			if !strings.HasPrefix(secret, roster.ServiceTokenPrefix) || len(secret) != len(roster.ServiceTokenPrefix)+43 {
				t.Fatalf("token %q", secret)
			}
			if created.CompanyID != e.acme.ID || strings.Join(created.Permissions, ",") != "users.view,users.block" || created.LastUsedAt != nil {
				t.Errorf("created %+v", created)
			}
			var stored []byte
			must(t, e.store.DB().QueryRowContext(ctx, `SELECT token_hash FROM service_tokens WHERE id = $1`, created.ID).Scan(&stored))
			sum := sha256.Sum256([]byte(strings.TrimPrefix(secret, roster.ServiceTokenPrefix)))
			if !bytes.Equal(stored, sum[:]) {
				t.Errorf("token_hash is not the SHA-256 of the secret")
			}
			for _, u := range []string{"/api/v1/service-tokens", path("/api/v1/events?type=%s", roster.EventServiceTokenCreated)} {
				r := e.expect("GET", u, admin, nil, 200)
				if bytes.Contains(r.Body, []byte(strings.TrimPrefix(secret, roster.ServiceTokenPrefix))) || bytes.Contains(r.Body, []byte(`"token"`)) {
					t.Errorf("GET %s shows the secret: %s", u, r.Body)
				}
			}
		})

		t.Run("ActsAndIsNamedInEventLog", func(t *testing.T) {
			v := e.victim()
			e.expect("GET", "/api/v1/users", secret, nil, 200)
			e.expect("POST", path("/api/v1/users/%d/block", v.ID), secret, map[string]string{"comment": "left the company"}, 200)
			var page struct {
				Items []struct {
					ActorID   *int64 `json:"actor_id"`
					ActorName string `json:"actor_name"`
					Address   string `json:"address"`
				} `json:"items"`
			}
			e.expect("GET", path("/api/v1/events?type=%s&user_id=%d", roster.EventUserBlocked, v.ID), admin, nil, 200).JSON(t, &page)
			if len(page.Items) != 1 {
				t.Fatalf("%d block events", len(page.Items))
			}
			if ev := page.Items[0]; ev.ActorID != nil || !strings.Contains(ev.ActorName, `"Telephony"`) || !strings.Contains(ev.ActorName, "Service token") {
				t.Errorf("event actor %v %q, want the token", ev.ActorID, ev.ActorName)
			}
		})

		t.Run("OnlyItsPermissions", func(t *testing.T) {
			e.run(t, []scenario{
				{name: "CreateUser", method: "POST", url: "/api/v1/users", token: secret, body: map[string]any{"auth_method": "login", "login": "tok1",
					"first_name": "A", "last_name": "B", "role_ids": []int64{e.roles[roster.RoleEmployee]}}, wantStatus: 403},
				{name: "Me", method: "GET", url: "/api/v1/me", token: secret, wantStatus: 403},
				{name: "Logout", method: "POST", url: "/api/v1/auth/logout", token: secret, wantStatus: 403},
				{name: "MintTokens", method: "POST", url: "/api/v1/service-tokens", token: secret, body: map[string]any{"name": "x", "permissions": []string{"users.view"}}, wantStatus: 403},
				{name: "OtherCompanyUser", method: "GET", url: path("/api/v1/users/%d", e.users["other"].ID), token: secret, wantStatus: 404},
				{name: "Garbage", method: "GET", url: "/api/v1/users", token: roster.ServiceTokenPrefix + "nope", wantStatus: 401},
				{name: "WrongSecret", method: "GET", url: "/api/v1/users", token: roster.ServiceTokenPrefix + strings.Repeat("A", 43), wantStatus: 401},
			})
		})

		t.Run("LastUsedCheaply", func(t *testing.T) {
			lastUsed := func() *time.Time {
				var list struct{ Items []serviceTokenJSON }
				e.expect("GET", "/api/v1/service-tokens", admin, nil, 200).JSON(t, &list)
				for _, it := range list.Items {
					if it.ID == created.ID {
						return it.LastUsedAt
					}
				}
				t.Fatal("token not listed")
				return nil
			}
			first := lastUsed()
			if first == nil {
				t.Fatal("last_used_at not written")
			}
			e.clock.Advance(10 * time.Second)
			e.expect("GET", "/api/v1/users", secret, nil, 200)
			if got := lastUsed(); !got.Equal(*first) {
				t.Errorf("last_used_at rewritten after 10 s: %v → %v", first, got)
			}
			e.clock.Advance(2 * time.Minute)
			e.expect("GET", "/api/v1/users", secret, nil, 200)
			if got := lastUsed(); !got.After(*first) {
				t.Errorf("last_used_at %v not moved after 2 min", got)
			}
		})

		t.Run("NoEscalation", func(t *testing.T) {
			limited := &roster.Role{CompanyID: &e.acme.ID, Key: "token_keeper", Name: "Token keeper",
				Permissions: []roster.Permission{roster.PermServiceTokensManage, roster.PermUsersView}}
			must(t, e.store.CreateRole(ctx, limited))
			e.users["keeper"] = e.user(e.acme.ID, "keeper", "token_keeper")
			kt := e.token("keeper")
			e.run(t, []scenario{
				{name: "NotHeld", method: "POST", url: "/api/v1/service-tokens", token: kt, body: map[string]any{"name": "x", "permissions": []string{"users.view", "users.delete"}}, wantStatus: 422, wantField: "permissions", wantBody: []string{"not_yours"}},
				{name: "SCIMNeedsAll", method: "POST", url: "/api/v1/service-tokens", token: kt, body: map[string]any{"name": "x", "permissions": []string{"scim.provision"}}, wantStatus: 422, wantField: "permissions"},
				{name: "Platform", method: "POST", url: "/api/v1/service-tokens", token: admin, body: map[string]any{"name": "x", "permissions": []string{"companies.manage"}}, wantStatus: 422, wantField: "permissions"},
				{name: "TokenAdmin", method: "POST", url: "/api/v1/service-tokens", token: admin, body: map[string]any{"name": "x", "permissions": []string{"service_tokens.manage"}}, wantStatus: 422, wantField: "permissions"},
				{name: "Unknown", method: "POST", url: "/api/v1/service-tokens", token: admin, body: map[string]any{"name": "x", "permissions": []string{"users.fly"}}, wantStatus: 422, wantField: "permissions"},
				{name: "AllAtOnce", method: "POST", url: "/api/v1/service-tokens", token: admin, body: map[string]any{"name": "", "permissions": []string{}, "ip_allowlist": []string{"nope"}}, wantStatus: 422, wantField: "ip_allowlist", wantBody: []string{`"field":"name"`, `"field":"permissions"`}},
				{name: "PastExpiry", method: "POST", url: "/api/v1/service-tokens", token: admin, body: map[string]any{"name": "x", "permissions": []string{"users.view"}, "expires_at": e.now().Add(-time.Hour)}, wantStatus: 422, wantField: "expires_at"},
				{name: "OtherCompany", method: "POST", url: "/api/v1/service-tokens", token: admin, body: map[string]any{"company_id": e.other.ID, "name": "x", "permissions": []string{"users.view"}}, wantStatus: 422, wantField: "company_id"},
				{name: "Held", method: "POST", url: "/api/v1/service-tokens", token: kt, body: map[string]any{"name": "Reader", "permissions": []string{"users.view"}}, wantStatus: 201},
			})
			// The SCIM permission for one who holds everything it implies.
			e.expect("POST", "/api/v1/service-tokens", admin, map[string]any{"name": "Entra ID", "permissions": []string{"scim.provision"}}, 201)
		})

		t.Run("Expiry", func(t *testing.T) {
			var tok serviceTokenJSON
			e.expect("POST", "/api/v1/service-tokens", admin, map[string]any{"name": "Short", "permissions": []string{"users.view"},
				"expires_at": e.now().Add(time.Hour)}, 201).JSON(t, &tok)
			e.expect("GET", "/api/v1/users", *tok.Token, nil, 200)
			e.clock.Advance(2 * time.Hour)
			e.expect("GET", "/api/v1/users", *tok.Token, nil, 401)
		})

		t.Run("Allowlist", func(t *testing.T) {
			admin := e.token("admin") // the clock moved past the idle timeout
			var tok serviceTokenJSON
			e.expect("POST", "/api/v1/service-tokens", admin, map[string]any{"name": "Office only", "permissions": []string{"users.view"},
				"ip_allowlist": []string{"203.0.113.9/24", "2001:db8::1"}}, 201).JSON(t, &tok)
			if strings.Join(tok.IPAllowlist, ",") != "203.0.113.0/24,2001:db8::1" {
				t.Errorf("allowlist %v", tok.IPAllowlist)
			}
			if r := e.from("203.0.113.77", "GET", "/api/v1/users", *tok.Token, nil); r.Status != 200 {
				t.Errorf("from the allowed range: %d %s", r.Status, r.Body)
			}
			if r := e.from("198.51.100.1", "GET", "/api/v1/users", *tok.Token, nil); r.Status != 403 {
				t.Errorf("from outside: %d %s", r.Status, r.Body)
			}
		})

		t.Run("RevokedAtOnce", func(t *testing.T) {
			admin := e.token("admin")
			tok := e.acmeServiceToken(roster.PermUsersView)
			e.expect("GET", "/api/v1/users", *tok.Token, nil, 200)
			e.expect("DELETE", path("/api/v1/service-tokens/%d", tok.ID), e.token("other"), nil, 404)
			e.expect("DELETE", path("/api/v1/service-tokens/%d", tok.ID), admin, nil, 204)
			e.expect("GET", "/api/v1/users", *tok.Token, nil, 401)
			e.expect("DELETE", path("/api/v1/service-tokens/%d", tok.ID), admin, nil, 404)
			var page struct {
				Items []struct {
					TargetName string `json:"target_name"`
				}
			}
			e.expect("GET", path("/api/v1/events?type=%s", roster.EventServiceTokenRevoked), admin, nil, 200).JSON(t, &page)
			if len(page.Items) != 1 || !strings.Contains(page.Items[0].TargetName, tok.Name) {
				t.Errorf("revocation events %+v", page.Items)
			}
		})
	})
}
