package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// SCIM 2.0 (RFC 7643, RFC 7644) at /scim/v2, for identity providers
// (Entra ID, Okta, …). A service token holding scim.provision says which
// company; inside this door it stands for roster.SCIMImplied. Every change
// goes through the same workflows as the API and the panel (app.Users).

const (
	scimUserSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
	// scimEnterpriseSchema is the enterprise user extension (RFC 7643 §4.3).
	scimEnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	scimListSchema       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	scimErrorSchema      = "urn:ietf:params:scim:api:messages:2.0:Error"
	scimPatchSchema      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	scimContentType      = "application/scim+json"
	scimMaxCount         = 200
)

// scimError is a SCIM error answer (RFC 7644 §3.12).
type scimError struct {
	Status   int
	SCIMType string
	Detail   string
}

func (e *scimError) Error() string { return e.Detail }

func scimBad(scimType, format string, args ...any) *scimError {
	return &scimError{http.StatusBadRequest, scimType, fmt.Sprintf(format, args...)}
}

// scimHandler serves /scim/v2/…: it authenticates the service token, then
// dispatches by path.
func (s *Server) scimHandler() http.Handler {
	mux := http.NewServeMux()
	h := func(f func(http.ResponseWriter, *http.Request) error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := s.scimAuth(r, f, w); err != nil {
				s.scimRenderError(w, r, err)
			}
		})
	}
	mux.Handle("GET /scim/v2/ServiceProviderConfig", h(s.scimServiceProviderConfig))
	mux.Handle("GET /scim/v2/ResourceTypes", h(s.scimResourceTypes))
	mux.Handle("GET /scim/v2/Schemas", h(s.scimSchemas))
	mux.Handle("GET /scim/v2/Users", h(s.scimUserList))
	mux.Handle("POST /scim/v2/Users", h(s.scimUserCreate))
	mux.Handle("GET /scim/v2/Users/{id}", h(s.scimUserGet))
	mux.Handle("PUT /scim/v2/Users/{id}", h(s.scimUserPut))
	mux.Handle("PATCH /scim/v2/Users/{id}", h(s.scimUserPatch))
	mux.Handle("DELETE /scim/v2/Users/{id}", h(s.scimUserDelete))
	mux.Handle("GET /scim/v2/Groups", h(s.scimGroupList))
	mux.Handle("GET /scim/v2/Groups/{id}", h(s.scimGroupGet))
	mux.Handle("POST /scim/v2/Groups", h(s.scimGroupCreate))
	mux.Handle("PUT /scim/v2/Groups/{id}", h(s.scimGroupPut))
	mux.Handle("PATCH /scim/v2/Groups/{id}", h(s.scimGroupPatch))
	mux.Handle("DELETE /scim/v2/Groups/{id}", h(s.scimGroupDelete))
	mux.Handle("/scim/v2/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.scimRenderError(w, r, &scimError{http.StatusNotFound, "", "No such SCIM endpoint."})
	}))
	return mux
}

// scimAuth checks the service token and runs f with the SCIM actor.
func (s *Server) scimAuth(r *http.Request, f func(http.ResponseWriter, *http.Request) error, w http.ResponseWriter) error {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !isServiceToken(strings.TrimSpace(token)) {
		return &scimError{http.StatusUnauthorized, "", "Send a service token holding scim.provision as Authorization: Bearer."}
	}
	a, err := s.authenticateServiceToken(r, strings.TrimSpace(token))
	if err != nil {
		return err
	}
	if !a.Can(roster.PermSCIMProvision) {
		return &scimError{http.StatusForbidden, "", "This service token lacks the permission scim.provision."}
	}
	// Inside the SCIM door, scim.provision stands for the user permissions
	// its creator had to hold to give it, beside the token's others (which
	// bound the roles it may grant, as for anyone).
	scim := *a
	scim.Permissions = roster.NewPermissionSet(roster.SCIMImplied...)
	for p := range a.Permissions {
		scim.Permissions[p] = true
	}
	ctx := roster.NewContextWithActor(app.WithBaseURL(r.Context(), s.baseURL(r)), &scim)
	return f(w, r.WithContext(ctx))
}

// scimRenderError writes err as a SCIM error body.
func (s *Server) scimRenderError(w http.ResponseWriter, r *http.Request, err error) {
	var se *scimError
	var fe *scimFilterError
	switch {
	case errors.As(err, &se):
	case errors.As(err, &fe):
		se = scimBad("invalidFilter", "%s", fe.msg)
	default:
		err = s.classifyError(r, err)
		p := problemFor(err)
		if p.Status == http.StatusInternalServerError {
			s.Logger.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		se = &scimError{Status: p.Status, Detail: p.Detail}
		switch roster.ErrorCode(err) {
		case roster.EINVALID:
			se.Status, se.SCIMType = http.StatusBadRequest, "invalidValue"
			var re *roster.Error
			if errors.As(err, &re) && len(re.Fields) > 0 {
				var parts []string
				for _, f := range re.Fields {
					parts = append(parts, f.Field+": "+f.Message)
				}
				se.Detail = strings.Join(parts, " ")
			}
		case roster.ECONFLICT:
			se.SCIMType = "uniqueness"
		}
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster-scim"`)
	}
	if se.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfter)
	}
	body := map[string]any{"schemas": []string{scimErrorSchema}, "status": strconv.Itoa(se.Status), "detail": se.Detail}
	if se.SCIMType != "" {
		body["scimType"] = se.SCIMType
	}
	writeSCIM(w, se.Status, body)
}

func writeSCIM(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, scimContentType, v)
}

// decodeSCIM reads a JSON body (application/scim+json or application/json).
func decodeSCIM(r *http.Request, dst any) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, scimContentType) && !strings.HasPrefix(ct, "application/json") {
		return &scimError{http.StatusUnsupportedMediaType, "", "Send application/scim+json."}
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &scimError{http.StatusRequestEntityTooLarge, "", "The body is too large."}
		}
		return scimBad("invalidSyntax", "The body is not a JSON object: %v", err)
	}
	return nil
}

// scimBaseURL is the absolute base of resource locations.
func (s *Server) scimBaseURL(r *http.Request) string {
	return strings.TrimSuffix(s.baseURL(r), "/") + "/scim/v2"
}

func (s *Server) scimServiceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	writeSCIM(w, http.StatusOK, map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://github.com/roster-app/roster#scim-20",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": scimMaxCount},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{"type": "oauthbearertoken", "name": "Service token",
			"description": "A Roster service token holding scim.provision, sent as Authorization: Bearer.", "primary": true}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": s.scimBaseURL(r) + "/ServiceProviderConfig"},
	})
	return nil
}

func (s *Server) scimResourceTypes(w http.ResponseWriter, r *http.Request) error {
	base := s.scimBaseURL(r)
	rt := func(id, endpoint, schema string) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": id, "name": id,
			"endpoint": endpoint, "schema": schema, "meta": map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/" + id}}
	}
	user := rt("User", "/Users", scimUserSchema)
	user["schemaExtensions"] = []any{map[string]any{"schema": scimEnterpriseSchema, "required": false}}
	items := []any{user, rt("Group", "/Groups", scimGroupSchema)}
	writeSCIM(w, http.StatusOK, scimList(items, len(items), 1))
	return nil
}

func (s *Server) scimSchemas(w http.ResponseWriter, r *http.Request) error {
	attr := func(name, typ string, multi bool, mut string, subs ...map[string]any) map[string]any {
		a := map[string]any{"name": name, "type": typ, "multiValued": multi, "required": name == "userName", "caseExact": false,
			"mutability": mut, "returned": "default", "uniqueness": "none"}
		if name == "userName" {
			a["uniqueness"] = "server"
		}
		if len(subs) > 0 {
			a["subAttributes"] = subs
		}
		return a
	}
	user := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"}, "id": scimUserSchema, "name": "User",
		"description": "A Roster user. userName is the e-mail address (or the login of a user without one).",
		"attributes": []any{
			attr("userName", "string", false, "immutable"),
			attr("externalId", "string", false, "readWrite"),
			attr("name", "complex", false, "readWrite", attr("givenName", "string", false, "readWrite"),
				attr("middleName", "string", false, "readWrite"), attr("familyName", "string", false, "readWrite"),
				attr("formatted", "string", false, "readOnly")),
			attr("displayName", "string", false, "readOnly"),
			attr("title", "string", false, "readWrite"),
			attr("active", "boolean", false, "readWrite"),
			attr("emails", "complex", true, "immutable", attr("value", "string", false, "immutable"), attr("type", "string", false, "immutable"),
				attr("primary", "boolean", false, "immutable")),
			attr("phoneNumbers", "complex", true, "readWrite", attr("value", "string", false, "readWrite"), attr("type", "string", false, "readWrite")),
			attr("groups", "complex", true, "readOnly", attr("value", "string", false, "readOnly"), attr("display", "string", false, "readOnly")),
		},
		"meta": map[string]any{"resourceType": "Schema", "location": s.scimBaseURL(r) + "/Schemas/" + scimUserSchema}}
	group := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"}, "id": scimGroupSchema, "name": "Group",
		"description": "A Roster role of the company; its members are the users holding it.",
		"attributes": []any{attr("displayName", "string", false, "readOnly"),
			attr("members", "complex", true, "readWrite", attr("value", "string", false, "immutable"), attr("display", "string", false, "readOnly"))},
		"meta": map[string]any{"resourceType": "Schema", "location": s.scimBaseURL(r) + "/Schemas/" + scimGroupSchema}}
	enterprise := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"}, "id": scimEnterpriseSchema,
		"name": "EnterpriseUser", "description": "The enterprise user extension; manager.value is the id of a user of the same company.",
		"attributes": []any{attr("employeeNumber", "string", false, "readWrite"), attr("department", "string", false, "readWrite"),
			attr("manager", "complex", false, "readWrite", attr("value", "string", false, "readWrite"), attr("$ref", "reference", false, "readOnly"))},
		"meta": map[string]any{"resourceType": "Schema", "location": s.scimBaseURL(r) + "/Schemas/" + scimEnterpriseSchema}}
	writeSCIM(w, http.StatusOK, scimList([]any{user, group, enterprise}, 3, 1))
	return nil
}

// scimList is a ListResponse.
func scimList(items []any, total, start int) map[string]any {
	if items == nil {
		items = []any{}
	}
	return map[string]any{"schemas": []string{scimListSchema}, "totalResults": total, "startIndex": start,
		"itemsPerPage": len(items), "Resources": items}
}
