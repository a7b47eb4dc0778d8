package web

import (
	"net/http"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// The service tokens API (issue 10, item 1). Handlers decode, call one
// workflow of app.ServiceTokens and render.

// serviceTokenRoutes are the rows of the route table for service tokens.
func (s *Server) serviceTokenRoutes() []route {
	P := anyOf(roster.PermServiceTokensManage)
	const tag = "service-tokens"
	return []route{
		{"GET", "/api/v1/service-tokens", P, s.handleServiceTokenList, opDoc{tag: tag, summary: "List a company's service tokens", status: 200,
			response: "ServiceTokenList", query: []paramDoc{pCompany},
			description: "With each token's last use (written at most once a minute). The secrets are never returned here."}},
		{"POST", "/api/v1/service-tokens", P, s.handleServiceTokenCreate, opDoc{tag: tag, summary: "Create a service token for an integration",
			body: "ServiceTokenCreate", status: 201, response: "ServiceTokenCreated", errors: []int{409},
			description: "Answers the `token` (`rst_…`) this once; only its SHA-256 is stored. Send it as `Authorization: Bearer <token>`. " +
				"The permissions are a subset of your own (never platform permissions, companies.switch or service_tokens.manage); " +
				"`scim.provision` also needs every users permission and roles.view. Requests made with the token are attributed to it in the event log. " +
				"An expired token, or a request from outside `ip_allowlist`, is refused. A token cannot call a person's own endpoints " +
				"(/api/v1/me…, sign-out, settings): 403. 409 past 50 tokens in a company."}},
		{"DELETE", "/api/v1/service-tokens/{id}", P, s.handleServiceTokenDelete, opDoc{tag: tag, summary: "Revoke a service token", status: 204,
			description: "The token is deleted: the next request made with it is refused (401)."}},
	}
}

func (s *Server) handleServiceTokenList(w http.ResponseWriter, r *http.Request) error {
	return listInCompany(w, r, s.App.ServiceTokens.List)
}

// serviceTokenRequest is the body of POST /api/v1/service-tokens.
type serviceTokenRequest struct {
	CompanyID   *int64     `json:"company_id"`
	Name        string     `json:"name"`
	Permissions []string   `json:"permissions"`
	ExpiresAt   *time.Time `json:"expires_at"`
	IPAllowlist []string   `json:"ip_allowlist"`
}

func (s *Server) handleServiceTokenCreate(w http.ResponseWriter, r *http.Request) error {
	var req serviceTokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	n := app.NewServiceToken{Name: req.Name, Permissions: req.Permissions, ExpiresAt: req.ExpiresAt, IPAllowlist: req.IPAllowlist}
	if req.CompanyID != nil {
		n.CompanyID = *req.CompanyID
	}
	created, err := s.App.ServiceTokens.Create(r.Context(), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, created)
}

func (s *Server) handleServiceTokenDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.App.ServiceTokens.Revoke(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// withServiceTokenSchemas adds the service token schemas.
func withServiceTokenSchemas(m map[string]any) map[string]any {
	var keys []string
	for _, c := range roster.Catalog {
		keys = append(keys, string(c.Key))
	}
	perm := enum(keys...)
	props := func(extra map[string]any) map[string]any {
		p := map[string]any{"id": integer(), "company_id": integer(), "name": str(), "permissions": arr(perm),
			"expires_at": nullableDateTime(), "ip_allowlist": arr(str()), "created_by": nullable("integer"),
			"created_by_name": str(), "created_at": dateTime(),
			"last_used_at":   map[string]any{"type": []string{"string", "null"}, "format": "date-time", "description": "Written at most once a minute."},
			"last_used_from": map[string]any{"type": "string", "description": "The client address of the last use written."}}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	required := []string{"id", "company_id", "name", "permissions", "expires_at", "ip_allowlist", "created_at", "last_used_at"}
	m["ServiceToken"] = obj(required, props(nil))
	m["ServiceTokenCreated"] = obj(append(required, "token"), props(map[string]any{"token": map[string]any{"type": "string",
		"description": "The secret, rst_ and 43 characters: shown this once. Send it as Authorization: Bearer."}}))
	m["ServiceTokenList"] = obj([]string{"items"}, map[string]any{"items": arr(ref("ServiceToken"))})
	m["ServiceTokenCreate"] = closed(obj([]string{"name", "permissions"}, map[string]any{"company_id": integer(),
		"name":         map[string]any{"type": "string", "minLength": 1, "maxLength": roster.MaxServiceTokenNameRunes},
		"permissions":  map[string]any{"type": "array", "items": perm, "minItems": 1},
		"expires_at":   map[string]any{"type": []string{"string", "null"}, "format": "date-time", "description": "In the future; none means the token does not expire."},
		"ip_allowlist": map[string]any{"type": []string{"array", "null"}, "items": str(), "description": "Addresses and CIDR ranges; empty allows every address."}}))
	return m
}
