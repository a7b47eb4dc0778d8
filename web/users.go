package web

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// userListParams are the query parameters of the users list.
var userListParams = []string{"q", "status", "role", "invitation", "company_id", "sort", "limit", "cursor", "queue", "last_sign_in_before", "never_signed_in"}

// userFilter reads a users filter from the query string; role is an ID or a key.
func (s *Server) userFilter(r *http.Request, params ...string) (roster.UserFilter, error) {
	if params == nil {
		params = userListParams
	}
	q := newQuery(r, params...)
	uq := app.UserQuery{Q: q.str("q"), Status: q.str("status"), Invitation: q.str("invitation"), Queue: q.str("queue"),
		Role: q.str("role"), CompanyID: q.id("company_id"), Sort: q.str("sort"), Limit: q.limit(), Cursor: q.str("cursor"),
		LastSignInBefore: q.str("last_sign_in_before"), NeverSignedIn: q.str("never_signed_in")}
	if err := q.err(); err != nil {
		return roster.UserFilter{}, err
	}
	return s.App.Users.Filter(r.Context(), uq)
}

// fieldNotFound turns ENOTFOUND into a validation error on field.
func fieldNotFound(err error, field, msg string) error {
	if roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	var v roster.Validation
	v.Add(field, "not_found", msg)
	return v.Err()
}

// handleUserList lists users in scope with search, filters and cursor paging.
func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) error {
	f, err := s.userFilter(r)
	if err != nil {
		return err
	}
	page, err := s.App.Users.List(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNilPage(page))
}

func nonNilPage(p *roster.UserPage) *roster.UserPage {
	if p.Items == nil {
		p.Items = []*roster.User{}
	}
	return p
}

// createUserRequest is the body of POST /api/v1/users.
type createUserRequest struct {
	AuthMethod  roster.AuthMethod `json:"auth_method"`
	Email       string            `json:"email"`
	Login       string            `json:"login"`
	FirstName   string            `json:"first_name"`
	MiddleName  string            `json:"middle_name"`
	LastName    string            `json:"last_name"`
	Phone       string            `json:"phone"`
	WorkPhone   string            `json:"work_phone"`
	Position    string            `json:"position"`
	RoleIDs     []int64           `json:"role_ids"`
	CompanyID   *int64            `json:"company_id"`
	Credentials string            `json:"credentials"`
	Password    string            `json:"password"`
	SendEmail   bool              `json:"send_email"`
	Lang        string            `json:"lang"`
}

// createdUser is a new user with the temporary password shown once.
type createdUser struct {
	*roster.User
	TemporaryPassword   string `json:"temporary_password,omitempty"`
	PasswordLinkEmailed bool   `json:"password_link_emailed,omitempty"`
}

// handleUserCreate adds a user (U4).
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) error {
	var req createUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	n := roster.NewUser{AuthMethod: req.AuthMethod, Email: req.Email, Login: req.Login,
		FirstName: req.FirstName, MiddleName: req.MiddleName, LastName: req.LastName,
		Phone: req.Phone, WorkPhone: req.WorkPhone, Position: req.Position,
		RoleIDs: req.RoleIDs, Credentials: req.Credentials, Password: req.Password, SendEmail: req.SendEmail, Lang: req.Lang}
	if req.CompanyID != nil {
		n.CompanyID = *req.CompanyID
	}
	u, creds, err := s.App.Users.Create(r.Context(), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createdUser{User: u, TemporaryPassword: creds.TemporaryPassword, PasswordLinkEmailed: creds.LinkEmailed})
}

// handleUserGet shows one user.
func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request) error {
	return getByID(w, r, s.Users.UserByID)
}

// patchUserRequest is the body of PATCH /api/v1/users/{id}. E-mail, login
// and authorization method are accepted only to be refused with a clear
// message.
type patchUserRequest struct {
	FirstName  *string          `json:"first_name"`
	MiddleName *string          `json:"middle_name"`
	LastName   *string          `json:"last_name"`
	Phone      *string          `json:"phone"`
	WorkPhone  *string          `json:"work_phone"`
	Position   *string          `json:"position"`
	Email      *json.RawMessage `json:"email"`
	Login      *json.RawMessage `json:"login"`
	AuthMethod *json.RawMessage `json:"auth_method"`
	accessPatch
	operatorPatch
}

// handleUserPatch edits a user (U6) with their access and operations settings.
func (s *Server) handleUserPatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req patchUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	upd := roster.UserUpdate{FirstName: req.FirstName, MiddleName: req.MiddleName, LastName: req.LastName,
		Phone: req.Phone, WorkPhone: req.WorkPhone, Position: req.Position,
		Email: rawSet(req.Email), Login: rawSet(req.Login), AuthMethod: rawSet(req.AuthMethod)}
	access, err := req.accessPatch.update()
	if err != nil {
		return err
	}
	upd.Access = access
	if op := req.operatorPatch.update(); !op.Empty() {
		upd.Operator = &op
	}
	u, err := s.App.Users.Update(r.Context(), id, upd)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// rawSet marks a field that was sent, whatever its value, so that the
// workflow can refuse it.
func rawSet(m *json.RawMessage) *string {
	if m == nil {
		return nil
	}
	s := string(*m)
	return &s
}

// handleUserDelete deletes a user for good (U11).
func (s *Server) handleUserDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.App.Users.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// commentRequest is the body of block and unblock.
type commentRequest struct {
	Comment string `json:"comment"`
}

// handleUserBlock blocks a user with a required comment; their sessions end at once (U10).
func (s *Server) handleUserBlock(w http.ResponseWriter, r *http.Request) error {
	return s.userComment(w, r, s.App.Users.Block)
}

// handleUserUnblock makes a blocked user active again, with a comment.
func (s *Server) handleUserUnblock(w http.ResponseWriter, r *http.Request) error {
	return s.userComment(w, r, s.App.Users.Unblock)
}

func (s *Server) userComment(w http.ResponseWriter, r *http.Request, do func(context.Context, int64, string) (*roster.User, error)) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req commentRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	u, err := do(r.Context(), id, req.Comment)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// rolesRequest is the body of PUT /api/v1/users/{id}/roles.
type rolesRequest struct {
	RoleIDs []int64 `json:"role_ids"`
}

// handleUserRoles replaces a user's roles, within the grant rules of U7.
func (s *Server) handleUserRoles(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req rolesRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	u, err := s.App.Users.SetRoles(r.Context(), id, req.RoleIDs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// handleUserPasswordReset resets a password (U9): a new temporary password
// for a login-method user, shown once, or a reset link e-mailed to an
// e-mail user (202).
func (s *Server) handleUserPasswordReset(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	creds, err := s.App.Users.ResetPassword(r.Context(), id)
	if err != nil {
		return err
	}
	if creds.Emailed {
		return writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted",
			"detail": "A single-use password-reset link valid 1 hour was e-mailed to the user."})
	}
	return writeJSON(w, http.StatusOK, map[string]string{"temporary_password": creds.TemporaryPassword})
}

// handleUserInvitation sends a new invitation; the old link dies (U8).
func (s *Server) handleUserInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.App.Users.ResendInvitation(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// bulkRequest is the body of POST /api/v1/users/bulk.
type bulkRequest struct {
	Action  string             `json:"action"`
	UserIDs []int64            `json:"user_ids"`
	Filter  *bulkFilterRequest `json:"filter"`
	RoleID  int64              `json:"role_id"`
	Comment string             `json:"comment"`
}

// bulkFilterRequest selects every user the list would show with the same
// filters: the list's query parameters as a JSON object.
type bulkFilterRequest struct {
	Q          string  `json:"q"`
	Status     string  `json:"status"`
	Role       idOrKey `json:"role"`
	Invitation string  `json:"invitation"`
	CompanyID  *int64  `json:"company_id"`
	Queue      idOrKey `json:"queue"`
	// LastSignInBefore (RFC 3339) and NeverSignedIn select dormant accounts.
	LastSignInBefore string `json:"last_sign_in_before"`
	NeverSignedIn    *bool  `json:"never_signed_in"`
}

// idOrKey is a JSON string or integer, read as its text: a role is an ID
// or a key, a queue an ID or "none".
type idOrKey string

func (k *idOrKey) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*k = idOrKey(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[string]()}
	}
	*k = idOrKey(n.String())
	return nil
}

// handleUserBulk applies one action to many users, all or nothing (U12).
// A filter selects exactly the users the list shows with the same filters.
func (s *Server) handleUserBulk(w http.ResponseWriter, r *http.Request) error {
	var req bulkRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	b := roster.BulkAction{Action: req.Action, UserIDs: req.UserIDs, RoleID: req.RoleID, Comment: req.Comment}
	if req.Filter != nil {
		uq := app.UserQuery{Q: req.Filter.Q, Status: req.Filter.Status, Role: string(req.Filter.Role),
			Invitation: req.Filter.Invitation, CompanyID: req.Filter.CompanyID, Queue: string(req.Filter.Queue),
			LastSignInBefore: req.Filter.LastSignInBefore}
		if req.Filter.NeverSignedIn != nil {
			uq.NeverSignedIn = strconv.FormatBool(*req.Filter.NeverSignedIn)
		}
		f, err := s.App.Users.Filter(ctx, uq)
		if err != nil {
			return prefixFields(err, "filter.")
		}
		b.Filter = &f
	}
	res, err := s.App.Users.Bulk(ctx, b)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// prefixFields renames the fields of a validation error (filter.status).
func prefixFields(err error, prefix string) error {
	e, ok := err.(*roster.Error)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]roster.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		f.Field = prefix + f.Field
		out.Fields[i] = f
	}
	return &out
}
