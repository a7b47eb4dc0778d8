package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

// userListParams are the query parameters of the users list.
var userListParams = []string{"q", "status", "role", "invitation", "company_id", "sort", "limit", "cursor", "queue"}

// userFilter reads a users filter from the query string; role is an ID or a key.
func (s *Server) userFilter(r *http.Request) (roster.UserFilter, error) {
	q := newQuery(r, userListParams...)
	f := roster.UserFilter{
		Query: q.str("q"), Status: roster.UserStatus(q.str("status")), Invitation: q.str("invitation"), Queue: q.str("queue"),
		CompanyID: q.id("company_id"), Sort: q.str("sort"), Limit: q.limit(), Cursor: q.str("cursor"),
	}
	if err := q.err(); err != nil {
		return f, err
	}
	return f, s.checkUserFilter(r.Context(), &f, q.str("role"))
}

// checkUserFilter validates a filter, resolves a role given by ID or key
// and checks that a named company is in the actor's scope.
func (s *Server) checkUserFilter(ctx context.Context, f *roster.UserFilter, role string) error {
	a := roster.ActorFromContext(ctx)
	if err := f.Validate(); err != nil {
		return err
	}
	companyID, err := s.companyIn(ctx, a, f.CompanyID)
	if err != nil {
		return err
	}
	if role == "" {
		return nil
	}
	var r *roster.Role
	if id, perr := strconv.ParseInt(role, 10, 64); perr == nil {
		r, err = s.Roles.RoleByID(ctx, a.Scope, id)
	} else {
		r, err = s.Roles.RoleByKey(ctx, companyID, role)
	}
	if err != nil {
		return fieldNotFound(err, "role", "No such role: give a role ID or key.")
	}
	f.RoleID = &r.ID
	return nil
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
	page, err := s.Users.Users(r.Context(), actorOf(r).Scope, f)
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
	Lang        string            `json:"lang"`
}

// createdUser is a new user with the temporary password shown once.
type createdUser struct {
	*roster.User
	TemporaryPassword string `json:"temporary_password,omitempty"`
}

// handleUserCreate adds a user (U4). Passwords are hashed before the store
// is called; the store writes the user, roles, invitation and event in one
// transaction, so a refused create leaves nothing behind.
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) error {
	var req createUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	n := roster.NewUser{
		CompanyID: a.Company.ID, AuthMethod: req.AuthMethod, Email: req.Email, Login: req.Login,
		FirstName: req.FirstName, MiddleName: req.MiddleName, LastName: req.LastName,
		Phone: req.Phone, WorkPhone: req.WorkPhone, Position: req.Position,
		RoleIDs: req.RoleIDs, Credentials: req.Credentials, Password: req.Password,
	}
	var err error
	if n.CompanyID, err = s.companyIn(ctx, a, req.CompanyID); err != nil {
		return err
	}
	n.Normalize()
	u := &roster.User{
		CompanyID: n.CompanyID, AuthMethod: n.AuthMethod, Email: n.Email, Login: n.Login,
		FirstName: n.FirstName, MiddleName: n.MiddleName, LastName: n.LastName,
		Phone: n.Phone, WorkPhone: n.WorkPhone, Position: n.Position, CreatedBy: &a.User.ID,
		Lang: roster.NormalizeUserLang(req.Lang),
	}
	err = n.Validate()
	if req.Lang != "" && req.Lang != roster.LangEnglish && req.Lang != roster.LangRussian {
		var v roster.Validation
		v.Add("lang", "invalid_choice", `The language is "en" or "ru".`)
		err = mergeValidation(err, v.Err())
	}
	if n.Credentials == roster.CredentialsManual && n.Password != "" {
		var v roster.Validation
		roster.ValidatePassword(&v, "password", n.Password, u, s.settingsOf(ctx, n.CompanyID).PasswordMinLength)
		err = mergeValidation(err, v.Err())
	}
	if len(n.RoleIDs) > 0 {
		err = mergeValidation(err, s.checkRoleIDs(ctx, n.CompanyID, "role_ids", n.RoleIDs))
	}
	if err != nil {
		return err
	}

	var invitationHash []byte
	var invitationExpiry time.Time
	var jobs []*roster.Job
	var temporary string
	switch n.Credentials {
	case roster.CredentialsInvitation:
		// The raw token goes only into the e-mail, written in the same
		// transaction as the user; the user row keeps its hash.
		var job *roster.Job
		if invitationHash, invitationExpiry, job, err = s.invitationJob(r, u); err != nil {
			return err
		}
		jobs = append(jobs, job)
		u.Status = roster.StatusInvited
	case roster.CredentialsGenerated:
		temporary = secure.GeneratePassword()
		u.Status, u.PasswordTemporary = roster.StatusActive, true
	case roster.CredentialsManual:
		temporary = ""
		u.Status, u.PasswordTemporary = roster.StatusActive, true
	}
	if pw := firstNonEmpty(temporary, n.Password); pw != "" {
		if u.PasswordHash, err = s.Hasher.Hash(ctx, pw); err != nil {
			return err
		}
	}
	if err := s.Users.CreateUser(ctx, u, n.RoleIDs, invitationHash, invitationExpiry, jobs...); err != nil {
		return err
	}
	if len(jobs) > 0 {
		s.jobsWritten()
	}
	created, err := s.Users.UserByID(ctx, a.Scope, u.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createdUser{User: created, TemporaryPassword: temporary})
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// mergeValidation joins the field lists of two validation errors.
func mergeValidation(a, b error) error {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	ea, oka := a.(*roster.Error)
	eb, okb := b.(*roster.Error)
	if !oka || !okb || ea.Code != roster.EINVALID || eb.Code != roster.EINVALID {
		return a
	}
	return &roster.Error{Code: roster.EINVALID, Message: ea.Message, Fields: append(append([]roster.FieldError{}, ea.Fields...), eb.Fields...)}
}

// checkRoleIDs reports role IDs that are neither system roles nor roles of
// the company, as a validation error on field.
func (s *Server) checkRoleIDs(ctx context.Context, companyID int64, field string, ids []int64) error {
	var v roster.Validation
	scope := roster.Scope{CompanyIDs: []int64{companyID}}
	for _, id := range ids {
		r, err := s.Roles.RoleByID(ctx, scope, id)
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		if err != nil || (!r.System && (r.CompanyID == nil || *r.CompanyID != companyID)) {
			v.Add(field, "unknown_role", "Unknown role: "+strconv.FormatInt(id, 10)+".")
			break
		}
	}
	return v.Err()
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

// handleUserPatch edits a user's name, phones and position (U6).
func (s *Server) handleUserPatch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	if _, err := s.Users.UserByID(ctx, a.Scope, id); err != nil {
		return err
	}
	var req patchUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var v roster.Validation
	if req.Email != nil {
		v.Add("email", "immutable", "E-mail never changes after creation.")
	}
	if req.Login != nil {
		v.Add("login", "immutable", "A login never changes after creation.")
	}
	if req.AuthMethod != nil {
		v.Add("auth_method", "immutable", "The authorization method never changes after creation.")
	}
	upd := roster.UserUpdate{FirstName: req.FirstName, MiddleName: req.MiddleName, LastName: req.LastName,
		Phone: req.Phone, WorkPhone: req.WorkPhone, Position: req.Position}
	upd.Normalize()
	access, aerr := req.accessPatch.update(a)
	upd.Access = access
	if op := req.operatorPatch.update(); !op.Empty() {
		upd.Operator = &op
	}
	if err := mergeValidation(mergeValidation(v.Err(), upd.Validate()), aerr); err != nil {
		return err
	}
	u, err := s.Users.UpdateUser(ctx, a.Scope, id, upd)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// notSelf refuses admin actions that would lock the actor out.
func notSelf(a *roster.Actor, id int64, what string) error {
	if a.User.ID == id {
		return roster.Errorf(roster.EFORBIDDEN, "You cannot %s yourself.", what)
	}
	return nil
}

// targetUser resolves the {id} of a user route, in scope.
func (s *Server) targetUser(r *http.Request) (*roster.User, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return s.Users.UserByID(r.Context(), actorOf(r).Scope, id)
}

// handleUserDelete deletes a user for good (U11).
func (s *Server) handleUserDelete(w http.ResponseWriter, r *http.Request) error {
	u, err := s.targetUser(r)
	if err != nil {
		return err
	}
	a := actorOf(r)
	if err := notSelf(a, u.ID, "delete"); err != nil {
		return err
	}
	if err := s.Users.DeleteUser(r.Context(), a.Scope, u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// commentRequest is the body of block and unblock.
type commentRequest struct {
	Comment string `json:"comment"`
}

func decodeComment(r *http.Request) (string, error) {
	var req commentRequest
	if err := decodeJSON(r, &req); err != nil {
		return "", err
	}
	req.Comment = strings.TrimSpace(req.Comment)
	var v roster.Validation
	roster.ValidateComment(&v, "comment", req.Comment, true)
	return req.Comment, v.Err()
}

// handleUserBlock blocks a user with a required comment; their sessions end at once (U10).
func (s *Server) handleUserBlock(w http.ResponseWriter, r *http.Request) error {
	u, err := s.targetUser(r)
	if err != nil {
		return err
	}
	a := actorOf(r)
	if err := notSelf(a, u.ID, "block"); err != nil {
		return err
	}
	comment, err := decodeComment(r)
	if err != nil {
		return err
	}
	if u, err = s.Users.BlockUser(r.Context(), a.Scope, u.ID, comment); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// handleUserUnblock makes a blocked user active again, with a comment.
func (s *Server) handleUserUnblock(w http.ResponseWriter, r *http.Request) error {
	u, err := s.targetUser(r)
	if err != nil {
		return err
	}
	comment, err := decodeComment(r)
	if err != nil {
		return err
	}
	if u, err = s.Users.UnblockUser(r.Context(), actorOf(r).Scope, u.ID, comment); err != nil {
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
	u, err := s.targetUser(r)
	if err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	if err := notSelf(a, u.ID, "change the roles of"); err != nil {
		return err
	}
	var req rolesRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if len(req.RoleIDs) == 0 {
		var v roster.Validation
		v.Add("role_ids", "required", "Choose at least one role.")
		return v.Err()
	}
	if err := s.checkRoleIDs(ctx, u.CompanyID, "role_ids", req.RoleIDs); err != nil {
		return err
	}
	if u, err = s.Users.SetUserRoles(ctx, a.Scope, u.ID, req.RoleIDs); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// handleUserPasswordReset resets a password (U9). Login-method users get
// a new temporary password, shown once; e-mail-method users will get a
// single-use link by e-mail once e-mail delivery exists, so for now the
// request is only accepted.
func (s *Server) handleUserPasswordReset(w http.ResponseWriter, r *http.Request) error {
	u, err := s.targetUser(r)
	if err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	if err := notSelf(a, u.ID, "reset the password of"); err != nil {
		return err
	}
	if u.AuthMethod != roster.AuthLogin {
		return s.resetByEmail(w, r, u)
	}
	pw := secure.GeneratePassword()
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	if err := s.Users.SetPassword(ctx, a.Scope, u.ID, hash, true); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"temporary_password": pw})
}

// handleUserInvitation sends a new invitation; the old link dies (U8).
func (s *Server) handleUserInvitation(w http.ResponseWriter, r *http.Request) error {
	u, err := s.targetUser(r)
	if err != nil {
		return err
	}
	if u.Status != roster.StatusInvited {
		return roster.Errorf(roster.ECONFLICT, "Only a user who has not accepted their invitation can be invited again.")
	}
	a, ctx := actorOf(r), r.Context()
	hash, expiry, job, err := s.invitationJob(r, u)
	if err != nil {
		return err
	}
	if err := s.Users.ResendInvitation(ctx, a.Scope, u.ID, hash, expiry, job); err != nil {
		return err
	}
	s.jobsWritten()
	if u, err = s.Users.UserByID(ctx, a.Scope, u.ID); err != nil {
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

// bulkFilterRequest selects every user matching the list's filter.
type bulkFilterRequest struct {
	Q          string `json:"q"`
	Status     string `json:"status"`
	Role       string `json:"role"`
	Invitation string `json:"invitation"`
	CompanyID  *int64 `json:"company_id"`
}

// bulkPermission is the permission each bulk action needs.
var bulkPermission = map[string]roster.Permission{
	roster.BulkAddRole:    roster.PermUsersRoles,
	roster.BulkRemoveRole: roster.PermUsersRoles,
	roster.BulkBlock:      roster.PermUsersBlock,
	roster.BulkUnblock:    roster.PermUsersBlock,
	roster.BulkDelete:     roster.PermUsersDelete,
}

// handleUserBulk applies one action to many users, all or nothing (U12).
func (s *Server) handleUserBulk(w http.ResponseWriter, r *http.Request) error {
	var req bulkRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	a, ctx := actorOf(r), r.Context()
	b := roster.BulkAction{Action: req.Action, UserIDs: req.UserIDs, RoleID: req.RoleID, Comment: strings.TrimSpace(req.Comment)}
	if req.Filter != nil {
		b.Filter = &roster.UserFilter{Query: req.Filter.Q, Status: roster.UserStatus(req.Filter.Status),
			Invitation: req.Filter.Invitation, CompanyID: req.Filter.CompanyID}
	}
	if err := b.Validate(); err != nil {
		return err
	}
	// The table lets in holders of any bulk permission; the action decides
	// which one is needed.
	if err := authorize(a, bulkPermission[b.Action]); err != nil {
		return err
	}
	if b.Filter != nil {
		if err := s.checkUserFilter(ctx, b.Filter, req.Filter.Role); err != nil {
			return prefixFields(err, "filter.")
		}
	}
	if b.Action == roster.BulkAddRole || b.Action == roster.BulkRemoveRole {
		if _, err := s.Roles.RoleByID(ctx, a.Scope, b.RoleID); err != nil {
			return fieldNotFound(err, "role_id", "No such role.")
		}
	}
	res, err := s.Users.BulkUsers(ctx, a.Scope, b)
	if err != nil {
		return err
	}
	if res.UserIDs == nil {
		res.UserIDs = []int64{}
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
