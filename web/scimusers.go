package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	filter "github.com/scim2/filter-parser/v2"
)

// scimUser is the SCIM representation of a Roster user.
func (s *Server) scimUser(r *http.Request, u *roster.User) map[string]any {
	userName := u.Email
	if userName == "" {
		userName = u.Login
	}
	res := map[string]any{
		"schemas":  []any{scimUserSchema},
		"id":       strconv.FormatInt(u.ID, 10),
		"userName": userName,
		"name": map[string]any{"givenName": u.FirstName, "middleName": u.MiddleName, "familyName": u.LastName,
			"formatted": strings.Join(strings.Fields(u.FirstName+" "+u.MiddleName+" "+u.LastName), " ")},
		"displayName": u.DisplayName(),
		"title":       u.Position,
		"active":      u.Status != roster.StatusBlocked,
		"meta": map[string]any{"resourceType": "User", "created": u.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"),
			"lastModified": u.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"), "version": scimVersion(u),
			"location": s.scimBaseURL(r) + "/Users/" + strconv.FormatInt(u.ID, 10)},
	}
	if u.Email != "" {
		res["emails"] = []any{map[string]any{"value": u.Email, "type": "work", "primary": true}}
	}
	var phones []any
	if u.Phone != "" {
		phones = append(phones, map[string]any{"value": u.Phone, "type": "mobile"})
	}
	if u.WorkPhone != "" {
		phones = append(phones, map[string]any{"value": u.WorkPhone, "type": "work"})
	}
	if phones != nil {
		res["phoneNumbers"] = phones
	}
	var groups []any
	for _, g := range u.Roles {
		groups = append(groups, map[string]any{"value": strconv.FormatInt(g.ID, 10), "display": g.Name})
	}
	if groups != nil {
		res["groups"] = groups
	}
	if u.ExternalID != "" {
		res["externalId"] = u.ExternalID
	}
	ent := map[string]any{}
	if u.EmployeeNumber != "" {
		ent["employeeNumber"] = u.EmployeeNumber
	}
	if u.Department != "" {
		ent["department"] = u.Department
	}
	if u.ManagerID != nil {
		mid := strconv.FormatInt(*u.ManagerID, 10)
		ent["manager"] = map[string]any{"value": mid, "$ref": s.scimBaseURL(r) + "/Users/" + mid}
	}
	if len(ent) > 0 {
		res["schemas"] = []any{scimUserSchema, scimEnterpriseSchema}
		res[scimEnterpriseSchema] = ent
	}
	return res
}

// scimVersion is the user's ETag: it changes with every change of the row.
func scimVersion(u *roster.User) string {
	return fmt.Sprintf(`W/"%d-%s"`, u.UpdatedAt.UnixNano(), u.Status)
}

// normalized round-trips a representation through JSON, so filters and
// patches see what a client reads.
func normalized(res map[string]any) map[string]any {
	b, _ := json.Marshal(res)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func scimID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, &scimError{http.StatusNotFound, "", "No such resource."}
	}
	return id, nil
}

// scimTarget loads a user of the token's company and checks If-Match.
func (s *Server) scimTarget(r *http.Request) (*roster.User, error) {
	id, err := scimID(r)
	if err != nil {
		return nil, err
	}
	a := actorOf(r)
	u, err := s.Users.UserByID(r.Context(), a.Scope, id)
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil, &scimError{http.StatusNotFound, "", "No such user."}
		}
		return nil, err
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && !strings.Contains(m, scimVersion(u)) {
		return nil, &scimError{http.StatusPreconditionFailed, "", "The user changed since you read it (If-Match does not match meta.version)."}
	}
	return u, nil
}

// DefaultSCIMMaxScan is how many users one SCIM list request evaluates a
// filter on in memory; a company with more must narrow the list with
// userName eq or externalId eq, which the store applies.
const DefaultSCIMMaxScan = 50000

// scimCompanyUsers returns the users of the token's company that match f
// (the conditions the store applies; see scimPushdown). More than
// Deps.SCIMMaxScan of them is a 400 tooMany with the detail tooMany.
func (s *Server) scimCompanyUsers(r *http.Request, f roster.UserFilter, tooMany string) ([]*roster.User, error) {
	a := actorOf(r)
	cid := a.Company.ID
	var out []*roster.User
	f.CompanyID, f.Sort, f.Limit = &cid, "created_at", roster.MaxPageSize
	for {
		page, err := s.App.Users.List(r.Context(), f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if len(out) > s.SCIMMaxScan {
			return nil, scimBad("tooMany", "%s", tooMany)
		}
		if page.NextCursor == "" || len(page.Items) == 0 {
			return out, nil
		}
		f.Cursor = page.NextCursor
	}
}

// scimPushdown copies the conditions of e that the store can apply into f:
// userName eq and externalId eq, alone or under and. The store's match is
// a superset of the filter's (userName eq matches the e-mail or the
// login), and the whole filter still runs on what it returns.
func scimPushdown(e filter.Expression, f *roster.UserFilter) {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		if x.Operator == filter.AND {
			scimPushdown(x.Left, f)
			scimPushdown(x.Right, f)
		}
	case *filter.AttributeExpression:
		p := x.AttributePath
		v, ok := x.CompareValue.(string)
		if x.Operator != filter.EQ || !ok || v == "" || p.SubAttributeName() != "" ||
			(p.URI() != "" && !strings.EqualFold(p.URI(), scimUserSchema)) {
			return
		}
		switch {
		case strings.EqualFold(p.AttributeName, "userName"):
			f.UserName = v
		case strings.EqualFold(p.AttributeName, "externalId"):
			f.ExternalID = v
		}
	}
}

func (s *Server) scimUserList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var expr filter.Expression
	if raw := q.Get("filter"); q.Has("filter") {
		var err error
		if expr, err = ParseSCIMFilter(raw); err != nil {
			return err
		}
	}
	start, count, err := scimPaging(q)
	if err != nil {
		return err
	}
	var pushed roster.UserFilter
	if expr != nil {
		scimPushdown(expr, &pushed)
	}
	users, err := s.scimCompanyUsers(r, pushed,
		fmt.Sprintf("The company has more than %d users; filter by userName eq or externalId eq.", s.SCIMMaxScan))
	if err != nil {
		return err
	}
	var matched []map[string]any
	for _, u := range users {
		res := normalized(s.scimUser(r, u))
		if expr == nil || MatchSCIMFilter(expr, res) {
			matched = append(matched, res)
		}
	}
	return writeSCIMPage(w, q, matched, start, count)
}

// writeSCIMPage answers a ListResponse of the matched resources: sorted as
// sortBy and sortOrder ask, the page from start (1-based) of at most
// count, each projected as attributes and excludedAttributes ask.
func writeSCIMPage(w http.ResponseWriter, q url.Values, matched []map[string]any, start, count int) error {
	if by := q.Get("sortBy"); by != "" {
		if err := sortResources(matched, by, strings.EqualFold(q.Get("sortOrder"), "descending")); err != nil {
			return scimBad("invalidValue", "%v", err)
		}
	}
	items := []any{}
	for i := start - 1; i < len(matched) && len(items) < count; i++ {
		items = append(items, project(matched[i], q.Get("attributes"), q.Get("excludedAttributes")))
	}
	writeSCIM(w, http.StatusOK, scimList(items, len(matched), start))
	return nil
}

// attributeList splits an attributes or excludedAttributes parameter into
// attribute names without the core schema URIs.
func attributeList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		p = strings.TrimPrefix(strings.TrimPrefix(p, scimUserSchema+":"), scimGroupSchema+":")
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// project keeps the attributes asked for (or drops the excluded ones);
// id, schemas and meta always stay. Names may be sub-attributes
// ("name.givenName") and may carry the core schema URI.
func project(res map[string]any, attributes, excluded string) map[string]any {
	if attrs := attributeList(attributes); len(attrs) > 0 {
		out := map[string]any{}
		for _, k := range []string{"id", "schemas", "meta"} {
			if v, ok := res[k]; ok {
				out[k] = v
			}
		}
		for _, a := range attrs {
			top, sub, _ := strings.Cut(a, ".")
			for k, v := range res {
				if !strings.EqualFold(k, top) {
					continue
				}
				if m, ok := v.(map[string]any); ok && sub != "" {
					dst, _ := out[k].(map[string]any)
					if dst == nil {
						dst = map[string]any{}
					}
					for sk, sv := range m {
						if strings.EqualFold(sk, sub) {
							dst[sk] = sv
						}
					}
					out[k] = dst
				} else {
					out[k] = v
				}
			}
		}
		return out
	}
	for _, a := range attributeList(excluded) {
		top, sub, _ := strings.Cut(a, ".")
		for k, v := range res {
			if !strings.EqualFold(k, top) || k == "id" || k == "schemas" || k == "meta" {
				continue
			}
			if m, ok := v.(map[string]any); ok && sub != "" {
				for sk := range m {
					if strings.EqualFold(sk, sub) {
						delete(m, sk)
					}
				}
			} else {
				delete(res, k)
			}
		}
	}
	return res
}

func (s *Server) scimUserGet(w http.ResponseWriter, r *http.Request) error {
	u, err := s.scimTarget(r)
	if err != nil {
		return err
	}
	return s.writeSCIMUser(w, r, http.StatusOK, u)
}

func (s *Server) writeSCIMUser(w http.ResponseWriter, r *http.Request, status int, u *roster.User) error {
	w.Header().Set("ETag", scimVersion(u))
	if status == http.StatusCreated {
		w.Header().Set("Location", s.scimBaseURL(r)+"/Users/"+strconv.FormatInt(u.ID, 10))
	}
	q := r.URL.Query()
	writeSCIM(w, status, project(normalized(s.scimUser(r, u)), q.Get("attributes"), q.Get("excludedAttributes")))
	return nil
}

// scimFields are the Roster fields a SCIM user representation sets.
type scimFields struct {
	UserName                   string
	ExternalID                 string
	EmployeeNumber, Department string
	// Manager is the manager's user ID, 0 for none.
	Manager                    int64
	First, Middle, Last, Title string
	Phone, WorkPhone           string
	Active                     bool
	Password                   string
}

// readSCIMUser reads the writable attributes of a representation.
func readSCIMUser(res map[string]any) (scimFields, error) {
	f := scimFields{Active: true}
	str := func(v any, name string) (string, error) {
		switch x := v.(type) {
		case nil:
			return "", nil
		case string:
			return x, nil
		}
		return "", scimBad("invalidValue", "%s is a string.", name)
	}
	var err error
	if f.UserName, err = str(lookup(res, "userName"), "userName"); err != nil {
		return f, err
	}
	if f.Title, err = str(lookup(res, "title"), "title"); err != nil {
		return f, err
	}
	if f.Password, err = str(lookup(res, "password"), "password"); err != nil {
		return f, err
	}
	if f.ExternalID, err = str(lookup(res, "externalId"), "externalId"); err != nil {
		return f, err
	}
	switch ent := lookup(res, scimEnterpriseSchema).(type) {
	case nil:
	case map[string]any:
		if f.EmployeeNumber, err = str(lookup(ent, "employeeNumber"), "employeeNumber"); err != nil {
			return f, err
		}
		if f.Department, err = str(lookup(ent, "department"), "department"); err != nil {
			return f, err
		}
		if f.Manager, err = scimManager(lookup(ent, "manager")); err != nil {
			return f, err
		}
	default:
		return f, scimBad("invalidValue", "%s is an object.", scimEnterpriseSchema)
	}
	if n, ok := lookup(res, "name").(map[string]any); ok {
		for _, p := range []struct {
			attr string
			dst  *string
		}{{"givenName", &f.First}, {"middleName", &f.Middle}, {"familyName", &f.Last}} {
			if *p.dst, err = str(lookup(n, p.attr), "name."+p.attr); err != nil {
				return f, err
			}
		}
	}
	switch v := lookup(res, "active").(type) {
	case nil:
	case bool:
		f.Active = v
	case string: // Entra ID sends "True" / "False"
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return f, scimBad("invalidValue", "active is a boolean.")
		}
		f.Active = b
	default:
		return f, scimBad("invalidValue", "active is a boolean.")
	}
	for _, el := range asList(lookup(res, "phoneNumbers")) {
		m, ok := el.(map[string]any)
		if !ok {
			return f, scimBad("invalidValue", "phoneNumbers holds objects.")
		}
		v, err := str(lookup(m, "value"), "phoneNumbers.value")
		if err != nil {
			return f, err
		}
		if t, _ := lookup(m, "type").(string); strings.EqualFold(t, "work") {
			f.WorkPhone = v
		} else if f.Phone == "" {
			f.Phone = v
		}
	}
	return f, nil
}

// scimManager reads the enterprise extension's manager: an object whose
// value is the manager's id, or (as Entra ID sends it) the bare id. Empty
// means none.
func scimManager(v any) (int64, error) {
	if m, ok := v.(map[string]any); ok {
		v = lookup(m, "value")
	}
	var s string
	switch x := v.(type) {
	case nil:
		return 0, nil
	case string:
		s = strings.TrimSpace(x)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return 0, scimBad("invalidValue", "manager.value is the id of a user of this company.")
	}
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, scimBad("invalidValue", "manager.value %q is not the id of a user of this company.", s)
	}
	return id, nil
}

// scimComment is the comment of a block or unblock made through SCIM.
func scimComment(r *http.Request, active bool) string {
	verb := "Blocked"
	if active {
		verb = "Unblocked"
	}
	return fmt.Sprintf("%s by SCIM provisioning (%s).", verb, actorOf(r).Name())
}

func (s *Server) scimUserCreate(w http.ResponseWriter, r *http.Request) error {
	var res map[string]any
	if err := decodeSCIM(r, &res); err != nil {
		return err
	}
	f, err := readSCIMUser(normalized(res))
	if err != nil {
		return err
	}
	if strings.TrimSpace(f.UserName) == "" {
		return scimBad("invalidValue", "userName is required.")
	}
	a := actorOf(r)
	role, err := s.Roles.RoleByKey(r.Context(), a.Company.ID, roster.RoleEmployee)
	if err != nil {
		return scimBad("invalidValue", "The company has no Employee role to give new users; add groups later.")
	}
	n := roster.NewUser{CompanyID: a.Company.ID, FirstName: f.First, MiddleName: f.Middle, LastName: f.Last,
		Phone: f.Phone, WorkPhone: f.WorkPhone, Position: f.Title, RoleIDs: []int64{role.ID},
		ExternalID: f.ExternalID, EmployeeNumber: f.EmployeeNumber, Department: f.Department}
	if f.Manager != 0 {
		n.ManagerID = &f.Manager
	}
	if strings.Contains(f.UserName, "@") {
		n.AuthMethod, n.Email = roster.AuthEmail, f.UserName
	} else {
		n.AuthMethod, n.Login = roster.AuthLogin, f.UserName
	}
	if f.Password != "" {
		n.Credentials, n.Password = roster.CredentialsManual, f.Password
	}
	u, _, err := s.App.Users.Create(r.Context(), n)
	if err != nil {
		return err
	}
	if !f.Active {
		if u, err = s.App.Users.Block(r.Context(), u.ID, scimComment(r, false)); err != nil {
			return err
		}
	}
	return s.writeSCIMUser(w, r, http.StatusCreated, u)
}

// scimApply makes user u match the fields f through the workflows: one
// update of the profile, then block or unblock when active changed.
func (s *Server) scimApply(r *http.Request, u *roster.User, f scimFields) (*roster.User, error) {
	old := normalized(s.scimUser(r, u))
	if name, _ := lookup(old, "userName").(string); f.UserName != "" && !strings.EqualFold(f.UserName, name) {
		return nil, scimBad("mutability", "userName never changes in Roster (it is the e-mail or login).")
	}
	ctx := r.Context()
	var upd roster.UserUpdate
	set := func(dst **string, now, was string) {
		if now != was {
			v := now
			*dst = &v
		}
	}
	set(&upd.FirstName, f.First, u.FirstName)
	set(&upd.MiddleName, f.Middle, u.MiddleName)
	set(&upd.LastName, f.Last, u.LastName)
	set(&upd.Position, f.Title, u.Position)
	set(&upd.Phone, f.Phone, u.Phone)
	set(&upd.WorkPhone, f.WorkPhone, u.WorkPhone)
	set(&upd.ExternalID, f.ExternalID, u.ExternalID)
	set(&upd.EmployeeNumber, f.EmployeeNumber, u.EmployeeNumber)
	set(&upd.Department, f.Department, u.Department)
	if f.Manager != derefID(u.ManagerID) {
		upd.ManagerID = &f.Manager
	}
	var err error
	if upd.FirstName != nil || upd.MiddleName != nil || upd.LastName != nil || upd.Position != nil || upd.Phone != nil ||
		upd.WorkPhone != nil || upd.ChangesDirectory() {
		if u, err = s.App.Users.Update(ctx, u.ID, upd); err != nil {
			return nil, err
		}
	}
	switch active := u.Status != roster.StatusBlocked; {
	case active && !f.Active:
		u, err = s.App.Users.Block(ctx, u.ID, scimComment(r, false))
	case !active && f.Active:
		u, err = s.App.Users.Unblock(ctx, u.ID, scimComment(r, true))
	}
	return u, err
}

func (s *Server) scimUserPut(w http.ResponseWriter, r *http.Request) error {
	u, err := s.scimTarget(r)
	if err != nil {
		return err
	}
	var res map[string]any
	if err := decodeSCIM(r, &res); err != nil {
		return err
	}
	f, err := readSCIMUser(normalized(res))
	if err != nil {
		return err
	}
	if u, err = s.scimApply(r, u, f); err != nil {
		return err
	}
	return s.writeSCIMUser(w, r, http.StatusOK, u)
}

// scimPatchRequest is a PatchOp message.
type scimPatchRequest struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	} `json:"Operations"`
}

func (s *Server) scimUserPatch(w http.ResponseWriter, r *http.Request) error {
	u, err := s.scimTarget(r)
	if err != nil {
		return err
	}
	var req scimPatchRequest
	if err := decodeSCIM(r, &req); err != nil {
		return err
	}
	if len(req.Operations) == 0 {
		return scimBad("invalidValue", "A PATCH needs Operations.")
	}
	res := normalized(s.scimUser(r, u))
	groups, _ := json.Marshal(lookup(res, "groups"))
	for _, op := range req.Operations {
		v := normalizedValue(op.Value)
		if err := ApplySCIMPatch(res, strings.ToLower(op.Op), op.Path, v); err != nil {
			return err
		}
	}
	if now, _ := json.Marshal(lookup(res, "groups")); string(now) != string(groups) {
		return scimBad("mutability", "A user's groups are read-only (RFC 7643); change membership with PATCH /Groups/{id}.")
	}
	f, err := readSCIMUser(res)
	if err != nil {
		return err
	}
	if u, err = s.scimApply(r, u, f); err != nil {
		return err
	}
	return s.writeSCIMUser(w, r, http.StatusOK, u)
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// normalizedValue turns json.Number values into float64, as a filter
// compares them.
func normalizedValue(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func (s *Server) scimUserDelete(w http.ResponseWriter, r *http.Request) error {
	u, err := s.scimTarget(r)
	if err != nil {
		return err
	}
	if err := s.App.Users.Delete(r.Context(), u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
