package app

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/secure"
)

// Users are the workflows on users.
type Users struct{ app *App }

// Credentials is what a workflow hands out once.
type Credentials struct {
	// TemporaryPassword is a generated password, to be shown once; the
	// user must change it at the first sign-in.
	TemporaryPassword string
	// Emailed says that an invitation or a password link went out by
	// e-mail instead.
	Emailed bool
	// LinkEmailed says that a new user with a generated or typed password
	// was also e-mailed a single-use link to set their own ("Send to
	// e-mail").
	LinkEmailed bool
}

// Create adds a user (U4): an invited e-mail user, or one with a generated
// or typed temporary password. Every field is checked at once — including
// the roles (they must exist in the user's company) and a typed password
// (against the company's minimum) — before anything is written; then the
// user, their roles, the invitation, its e-mail and the event are written
// in one transaction.
func (s *Users) Create(ctx context.Context, n roster.NewUser) (*roster.User, Credentials, error) {
	var none Credentials
	a, err := actor(ctx, roster.PermUsersCreate)
	if err != nil {
		return nil, none, err
	}
	u, err := s.newChecker(a).check(ctx, &n)
	if err != nil {
		return nil, none, err
	}

	var (
		creds   Credentials
		invHash []byte
		invExp  time.Time
		jobs    []*roster.Job
		pw      string
	)
	switch n.Credentials {
	case roster.CredentialsInvitation:
		// The raw token goes only into the e-mail, written in the same
		// transaction as the user; the user row keeps its hash.
		var job *roster.Job
		if invHash, invExp, job, err = s.invitation(ctx, a, u); err != nil {
			return nil, none, err
		}
		jobs = append(jobs, job)
		u.Status, creds.Emailed = roster.StatusInvited, true
	case roster.CredentialsGenerated:
		pw = secure.GeneratePassword()
		creds.TemporaryPassword = pw
		u.Status, u.PasswordTemporary = roster.StatusActive, true
	case roster.CredentialsManual:
		pw = n.Password
		u.Status, u.PasswordTemporary = roster.StatusActive, true
	}
	if pw != "" {
		if u.PasswordHash, err = s.app.d.Hasher.Hash(ctx, pw); err != nil {
			return nil, none, err
		}
	}
	if n.SendEmail {
		// "Send to e-mail" (seed 003): a single-use link to set a password,
		// never the password, written with the user.
		token, hash := secure.NewToken()
		job, err := s.app.MailJob(ctx, u, mail.KindPasswordReset, mail.PasswordReset{BaseURL: s.app.BaseURL(ctx),
			Token: token, Name: u.DisplayName(), ValidFor: roster.PasswordResetTTL})
		if err != nil {
			return nil, none, err
		}
		if err := s.app.d.Users.CreateUserWithPasswordLink(ctx, u, n.RoleIDs, hash, s.app.now().Add(roster.PasswordResetTTL), job); err != nil {
			return nil, none, err
		}
		jobs, creds.LinkEmailed = append(jobs, job), true
	} else if err := s.app.d.Users.CreateUser(ctx, u, n.RoleIDs, invHash, invExp, jobs...); err != nil {
		return nil, none, err
	}
	if len(jobs) > 0 {
		s.app.JobsWritten()
	}
	created, err := s.app.d.Users.UserByID(ctx, a.Scope, u.ID)
	if err != nil {
		return nil, none, err
	}
	return created, creds, nil
}

// newUserChecker applies the rules of a new user (U4) — the very same for
// the single create and every row of a CSV import — caching what it looks
// up (roles, companies, settings) across the users it checks.
type newUserChecker struct {
	s         *Users
	a         *roster.Actor
	roles     map[int64]*roster.Role
	companies map[int64]error
	settings  map[int64]*roster.CompanySettings
	company   map[int64]*roster.Company
}

func (s *Users) newChecker(a *roster.Actor) *newUserChecker {
	return &newUserChecker{s: s, a: a, roles: map[int64]*roster.Role{}, companies: map[int64]error{},
		settings: map[int64]*roster.CompanySettings{}, company: map[int64]*roster.Company{}}
}

// check normalizes n and checks all of it at once: the fields, the company
// (in the actor's scope; 0 is the actor's own), the roles (of that company,
// or system roles), a typed password against the company's minimum; then
// the no-escalation rule on the roles granted (EFORBIDDEN). It answers the
// user to create, not yet written.
func (c *newUserChecker) check(ctx context.Context, n *roster.NewUser) (*roster.User, error) {
	n.Normalize()
	var companyErr error
	if n.CompanyID == 0 {
		n.CompanyID = c.a.Company.ID
	} else if err, ok := c.companies[n.CompanyID]; ok {
		companyErr = err
	} else {
		id := n.CompanyID
		companyErr = c.s.app.companyIn(ctx, c.a, &id)
		c.companies[n.CompanyID] = companyErr
	}
	u := &roster.User{
		CompanyID: n.CompanyID, AuthMethod: n.AuthMethod, Email: n.Email, Login: n.Login,
		FirstName: n.FirstName, MiddleName: n.MiddleName, LastName: n.LastName,
		Phone: n.Phone, WorkPhone: n.WorkPhone, Position: n.Position, CreatedBy: userIDPtr(c.a),
		Lang:       roster.NormalizeUserLang(n.Lang),
		ExternalID: n.ExternalID, EmployeeNumber: n.EmployeeNumber, Department: n.Department, ManagerID: n.ManagerID,
	}
	var v roster.Validation
	var roleErr error
	if companyErr == nil {
		if len(n.RoleIDs) > 0 {
			roleErr = c.checkRoles(ctx, n.CompanyID, n.RoleIDs)
		}
		if n.Credentials == roster.CredentialsManual && n.Password != "" {
			cs, err := c.settingsOf(ctx, n.CompanyID)
			if err != nil {
				return nil, err
			}
			roster.ValidatePassword(&v, "password", n.Password, u, cs.PasswordMinLength)
		}
	}
	if err := merge(companyErr, n.Validate(), roleErr, v.Err()); err != nil {
		return nil, err
	}
	if err := c.checkGrants(ctx, n.CompanyID, n.RoleIDs); err != nil {
		return nil, err
	}
	return u, nil
}

// settingsOf returns a company's settings, cached.
func (c *newUserChecker) settingsOf(ctx context.Context, companyID int64) (*roster.CompanySettings, error) {
	if cs, ok := c.settings[companyID]; ok {
		return cs, nil
	}
	cs, err := c.s.app.Settings(ctx, companyID)
	if err != nil {
		return nil, err
	}
	c.settings[companyID] = cs
	return cs, nil
}

// rolesByIDs loads roles, cached; unknown IDs are absent from the answer.
func (c *newUserChecker) rolesByIDs(ctx context.Context, ids []int64) (map[int64]*roster.Role, error) {
	var missing []int64
	for _, id := range ids {
		if _, ok := c.roles[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		found, err := c.s.app.d.Roles.RolesByIDs(ctx, missing)
		if err != nil {
			return nil, err
		}
		for _, id := range missing {
			c.roles[id] = found[id] // nil for an unknown one
		}
	}
	out := make(map[int64]*roster.Role, len(ids))
	for _, id := range ids {
		if r := c.roles[id]; r != nil {
			out[id] = r
		}
	}
	return out, nil
}

// checkRoles is Users.checkRoles over the cache.
func (c *newUserChecker) checkRoles(ctx context.Context, companyID int64, ids []int64) error {
	roles, err := c.rolesByIDs(ctx, ids)
	if err != nil {
		return err
	}
	return roleErrors(companyID, ids, roles)
}

// checkGrants is Users.checkGrants over the cache.
func (c *newUserChecker) checkGrants(ctx context.Context, companyID int64, ids []int64) error {
	roles, err := c.rolesByIDs(ctx, ids)
	if err != nil {
		return err
	}
	co, ok := c.company[companyID]
	if !ok {
		if co, err = c.s.app.d.Companies.CompanyByID(ctx, roster.Scope{All: true}, companyID); err != nil {
			return err
		}
		c.company[companyID] = co
	}
	return grantErrors(c.a, co, ids, roles)
}

// companyIn resolves the company a request names: the actor's own when it
// names none (0); one outside the actor's scope is a field error on
// company_id, exactly like one that does not exist.
func (a *App) companyIn(ctx context.Context, actor *roster.Actor, id *int64) error {
	if *id == 0 {
		*id = actor.Company.ID
		return nil
	}
	if _, err := a.d.Companies.CompanyByID(ctx, actor.Scope, *id); err != nil {
		return fieldNotFound(err, "company_id", "No such company.")
	}
	return nil
}

// checkRoles reports role IDs that are neither system roles nor roles of
// company, as a field error on role_ids. The Main administrator role lives
// only in the platform company.
func (s *Users) checkRoles(ctx context.Context, companyID int64, ids []int64) error {
	roles, err := s.app.d.Roles.RolesByIDs(ctx, ids)
	if err != nil {
		return err
	}
	return roleErrors(companyID, ids, roles)
}

// roleErrors reports the IDs of ids that are neither system roles nor
// roles of company (roles holds those that exist).
func roleErrors(companyID int64, ids []int64, roles map[int64]*roster.Role) error {
	var v roster.Validation
	for _, id := range ids {
		r, ok := roles[id]
		switch {
		case !ok || (!r.System && (r.CompanyID == nil || *r.CompanyID != companyID)):
			v.Add("role_ids", "unknown_role", "Unknown role: "+strconv.FormatInt(id, 10)+".")
		case r.System && r.Key == roster.RoleMainAdmin && companyID != roster.PlatformCompanyID:
			v.Add("role_ids", "unknown_role", "The Main administrator role is held only in the platform company.")
		}
	}
	return v.Err()
}

// checkGrants applies the no-escalation rule (U7) to roles being granted
// or revoked; the store applies it again against the rows it writes.
func (s *Users) checkGrants(ctx context.Context, a *roster.Actor, companyID int64, ids []int64) error {
	roles, err := s.app.d.Roles.RolesByIDs(ctx, ids)
	if err != nil {
		return err
	}
	c, err := s.app.d.Companies.CompanyByID(ctx, roster.Scope{All: true}, companyID)
	if err != nil {
		return err
	}
	return grantErrors(a, c, ids, roles)
}

// grantErrors applies Actor.CheckGrant, in company c, to the roles of ids
// that exist.
func grantErrors(a *roster.Actor, c *roster.Company, ids []int64, roles map[int64]*roster.Role) error {
	for _, id := range ids {
		if r, ok := roles[id]; ok {
			if err := a.CheckGrant(r, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// Grantable returns those of roles (of company companyID) that the actor
// may grant or revoke there (U7), for a door to offer.
func (s *Users) Grantable(ctx context.Context, roles []*roster.Role, companyID int64) ([]*roster.Role, error) {
	a := roster.ActorFromContext(ctx)
	c, err := s.app.d.Companies.CompanyByID(ctx, roster.Scope{All: true}, companyID)
	if err != nil {
		return nil, err
	}
	var out []*roster.Role
	for _, r := range roles {
		if r.Key == roster.RoleMainAdmin && r.System && companyID != roster.PlatformCompanyID {
			continue
		}
		if a.CheckGrant(r, c) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// invitation makes a new invitation token for u and the e-mail carrying it,
// valid for the company's invitation lifetime.
func (s *Users) invitation(ctx context.Context, a *roster.Actor, u *roster.User) (hash []byte, expiry time.Time, job *roster.Job, err error) {
	cs, err := s.app.Settings(ctx, u.CompanyID)
	if err != nil {
		return nil, time.Time{}, nil, err
	}
	token, hash := secure.NewToken()
	data := mail.Invitation{BaseURL: s.app.BaseURL(ctx), Token: token, Name: strings.TrimSpace(u.FirstName + " " + u.LastName),
		ValidFor: cs.InvitationTTL(), InvitedBy: a.Name()}
	if c, err := s.app.d.Companies.CompanyByID(ctx, roster.Scope{All: true}, u.CompanyID); err == nil {
		data.Company = c.Name
	}
	job, err = s.app.MailJob(ctx, u, mail.KindInvitation, data)
	return hash, s.app.now().Add(cs.InvitationTTL()), job, err
}

// Update edits a user (U6) — profile fields, access settings (A3, A4) and
// operations settings (U5, R4) — all or nothing, in one transaction. The
// IP allowlist and idle timeout need users.credentials; an administrator
// changes neither those nor the operations settings of their own account
// (that would lock them out, or is the profile's business); e-mail, login
// and authorization method never change; a name the user set themselves is
// theirs alone (the store checks that against the current row).
func (s *Users) Update(ctx context.Context, id int64, upd roster.UserUpdate) (*roster.User, error) {
	a, err := actor(ctx, "")
	if err != nil {
		return nil, err
	}
	acc := upd.Access
	credentials := acc != nil && (acc.IPAllowlist != nil || acc.IdleTimeoutSeconds != nil || acc.ClearIdleTimeout)
	profile := upd.FirstName != nil || upd.MiddleName != nil || upd.LastName != nil || upd.Phone != nil ||
		upd.WorkPhone != nil || upd.Position != nil || (acc != nil && acc.Lang != nil) || upd.Operator != nil || !credentials
	if profile && !a.Can(roster.PermUsersEdit) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "You do not have permission for this action (needs %s).", roster.PermUsersEdit)
	}
	upd.Normalize()
	if err := upd.Validate(); err != nil {
		return nil, err
	}
	if credentials {
		if !a.Can(roster.PermUsersCredentials) {
			return nil, roster.Errorf(roster.EFORBIDDEN, "Changing the IP allowlist or idle timeout needs users.credentials.")
		}
		if id == a.UserID() {
			return nil, errSelfCredentials
		}
	}
	if upd.Operator != nil && !upd.Operator.Empty() && id == a.UserID() {
		return nil, roster.Errorf(roster.EFORBIDDEN, "You cannot change your own operator settings.")
	}
	return s.app.d.Users.UpdateUser(ctx, a.Scope, id, upd)
}

// errSelfCredentials refuses credential actions on one's own account,
// which belong on the profile's security page.
var errSelfCredentials = roster.Errorf(roster.EFORBIDDEN, "Change your own security settings on your profile's Security page.")

// Block blocks a user with a required comment (U10): their sessions end,
// they leave every queue, shift and agent group; their data stays.
func (s *Users) Block(ctx context.Context, id int64, comment string) (*roster.User, error) {
	a, err := actor(ctx, roster.PermUsersBlock)
	if err != nil {
		return nil, err
	}
	if err := notSelf(a, id, "block"); err != nil {
		return nil, err
	}
	comment, err = checkComment(comment)
	if err != nil {
		return nil, err
	}
	return s.app.d.Users.BlockUser(ctx, a.Scope, id, comment)
}

// Unblock makes a blocked user active again (or invited, if they never
// registered), with a required comment.
func (s *Users) Unblock(ctx context.Context, id int64, comment string) (*roster.User, error) {
	a, err := actor(ctx, roster.PermUsersBlock)
	if err != nil {
		return nil, err
	}
	comment, err = checkComment(comment)
	if err != nil {
		return nil, err
	}
	return s.app.d.Users.UnblockUser(ctx, a.Scope, id, comment)
}

// checkComment trims and checks a required block or unblock comment.
func checkComment(c string) (string, error) {
	c = strings.TrimSpace(c)
	var v roster.Validation
	roster.ValidateComment(&v, "comment", c, true)
	return c, v.Err()
}

// Delete removes a user for good (U11); past events keep their name.
func (s *Users) Delete(ctx context.Context, id int64) error {
	a, err := actor(ctx, roster.PermUsersDelete)
	if err != nil {
		return err
	}
	if err := notSelf(a, id, "delete"); err != nil {
		return err
	}
	return s.app.d.Users.DeleteUser(ctx, a.Scope, id)
}

// SetRoles replaces a user's roles (U7): at least one, each of the user's
// company (or a system role), each added or removed one within the
// actor's own permissions. The change applies on the user's next request.
func (s *Users) SetRoles(ctx context.Context, id int64, roleIDs []int64) (*roster.User, error) {
	a, err := actor(ctx, roster.PermUsersRoles)
	if err != nil {
		return nil, err
	}
	if err := notSelf(a, id, "change the roles of"); err != nil {
		return nil, err
	}
	if len(roleIDs) == 0 {
		var v roster.Validation
		v.Add("role_ids", "required", "Choose at least one role.")
		return nil, v.Err()
	}
	u, err := s.app.d.Users.UserByID(ctx, a.Scope, id)
	if err != nil {
		return nil, err
	}
	if err := s.checkRoles(ctx, u.CompanyID, roleIDs); err != nil {
		return nil, err
	}
	return s.app.d.Users.SetUserRoles(ctx, a.Scope, id, roleIDs)
}

// ResendInvitation sends a user who has not registered a new invitation;
// the old link dies (U8).
func (s *Users) ResendInvitation(ctx context.Context, id int64) (*roster.User, error) {
	a, err := actor(ctx, roster.PermUsersCredentials)
	if err != nil {
		return nil, err
	}
	u, err := s.app.d.Users.UserByID(ctx, a.Scope, id)
	if err != nil {
		return nil, err
	}
	if u.Status != roster.StatusInvited {
		return nil, roster.Errorf(roster.ECONFLICT, "Only a user who has not accepted their invitation can be invited again.")
	}
	hash, expiry, job, err := s.invitation(ctx, a, u)
	if err != nil {
		return nil, err
	}
	if err := s.app.d.Users.ResendInvitation(ctx, a.Scope, id, hash, expiry, job); err != nil {
		return nil, err
	}
	s.app.JobsWritten()
	return s.app.d.Users.UserByID(ctx, a.Scope, id)
}

// ResetPassword resets another user's password (U9): a login-method user
// gets a new temporary password, shown once, and their sessions end; an
// e-mail user gets a single-use reset link valid one hour by e-mail.
func (s *Users) ResetPassword(ctx context.Context, id int64) (Credentials, error) {
	var none Credentials
	a, err := actor(ctx, roster.PermUsersCredentials)
	if err != nil {
		return none, err
	}
	if err := notSelf(a, id, "reset the password of"); err != nil {
		return none, err
	}
	u, err := s.app.d.Users.UserByID(ctx, a.Scope, id)
	if err != nil {
		return none, err
	}
	if u.AuthMethod != roster.AuthLogin {
		token, hash := secure.NewToken()
		job, err := s.app.MailJob(ctx, u, mail.KindPasswordReset, mail.PasswordReset{BaseURL: s.app.BaseURL(ctx),
			Token: token, Name: u.DisplayName(), ValidFor: roster.PasswordResetTTL})
		if err != nil {
			return none, err
		}
		if err := s.app.d.Credentials.StartPasswordReset(ctx, u.ID, hash, s.app.now().Add(roster.PasswordResetTTL), job); err != nil {
			return none, err
		}
		s.app.JobsWritten()
		return Credentials{Emailed: true}, nil
	}
	pw := secure.GeneratePassword()
	hash, err := s.app.d.Hasher.Hash(ctx, pw)
	if err != nil {
		return none, err
	}
	if err := s.app.d.Users.SetPassword(ctx, a.Scope, id, hash, true); err != nil {
		return none, err
	}
	return Credentials{TemporaryPassword: pw}, nil
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

// UserQuery is a users filter as the front doors receive it — from a
// query string, a form or a JSON object — before the role (an ID or a key)
// and the company are resolved.
type UserQuery struct {
	Q, Status, Invitation, Queue, Sort, Cursor string
	// Role is a role ID or key.
	Role      string
	CompanyID *int64
	Limit     int
	// LastSignInBefore is an RFC 3339 time; NeverSignedIn "true" or
	// "false" (dormant accounts, issue 10 item 6). Empty means any.
	LastSignInBefore, NeverSignedIn string
}

// Filter turns a query into the filter the list and the bulk actions run,
// checking every field at once: enumerations, the company (in the actor's
// scope), the role (of that company, or a system role). The list and a
// bulk action by filter go through here, so they select the same users.
func (s *Users) Filter(ctx context.Context, q UserQuery) (roster.UserFilter, error) {
	f := roster.UserFilter{Query: q.Q, Status: roster.UserStatus(q.Status), Invitation: q.Invitation,
		Queue: q.Queue, CompanyID: q.CompanyID, Sort: q.Sort, Cursor: q.Cursor, Limit: q.Limit}
	a, err := actor(ctx, "")
	if err != nil {
		return f, err
	}
	verr := merge(f.Validate(), signInFilter(&f, q))
	companyID := int64(0)
	if q.CompanyID != nil {
		companyID = *q.CompanyID
	}
	cerr := s.app.companyIn(ctx, a, &companyID)
	var rerr error
	if q.Role != "" && cerr == nil {
		var r *roster.Role
		if id, perr := strconv.ParseInt(q.Role, 10, 64); perr == nil {
			r, err = s.app.d.Roles.RoleByID(ctx, a.Scope, id)
		} else {
			r, err = s.app.d.Roles.RoleByKey(ctx, companyID, q.Role)
		}
		if err != nil {
			rerr = fieldNotFound(err, "role", "No such role: give a role ID or key.")
		} else {
			f.RoleID = &r.ID
		}
	}
	return f, merge(verr, cerr, rerr)
}

// signInFilter reads the dormant-account filters of q into f.
func signInFilter(f *roster.UserFilter, q UserQuery) error {
	var v roster.Validation
	if q.LastSignInBefore != "" {
		t, err := time.Parse(time.RFC3339, q.LastSignInBefore)
		if err != nil {
			v.Add("last_sign_in_before", "invalid_time", "Give a time in RFC 3339 form, like 2026-01-31T00:00:00Z.")
		} else {
			t = t.UTC().Truncate(time.Microsecond)
			f.LastSignInBefore = &t
		}
	}
	switch q.NeverSignedIn {
	case "":
	case "true", "false":
		b := q.NeverSignedIn == "true"
		f.NeverSignedIn = &b
	default:
		v.Add("never_signed_in", "invalid_boolean", "never_signed_in is true or false.")
	}
	return v.Err()
}

// List returns one page of the users in the actor's scope matching f.
func (s *Users) List(ctx context.Context, f roster.UserFilter) (*roster.UserPage, error) {
	a, err := actor(ctx, roster.PermUsersView)
	if err != nil {
		return nil, err
	}
	return s.app.d.Users.Users(ctx, a.Scope, f)
}

// IDs returns the IDs of the users in the actor's scope matching f, by
// ID: at most max of them, or max+1 to tell that there are more.
func (s *Users) IDs(ctx context.Context, f roster.UserFilter, max int) ([]int64, error) {
	a, err := actor(ctx, roster.PermUsersView)
	if err != nil {
		return nil, err
	}
	return s.app.d.Users.UserIDs(ctx, a.Scope, f, max)
}

// bulkPermission is the permission each bulk action needs.
var bulkPermission = map[string]roster.Permission{
	roster.BulkAddRole:    roster.PermUsersRoles,
	roster.BulkRemoveRole: roster.PermUsersRoles,
	roster.BulkBlock:      roster.PermUsersBlock,
	roster.BulkUnblock:    roster.PermUsersBlock,
	roster.BulkDelete:     roster.PermUsersDelete,
}

// BulkPermission is the permission a bulk action needs ("" for an unknown one).
func BulkPermission(action string) roster.Permission { return bulkPermission[action] }

// checkBulk checks a bulk action's shape (and its comment, unless this is
// a preview), the actor's permission for it and its role.
func (s *Users) checkBulk(ctx context.Context, b *roster.BulkAction, preview bool) (*roster.Actor, error) {
	a, err := actor(ctx, "")
	if err != nil {
		return nil, err
	}
	b.Comment = strings.TrimSpace(b.Comment)
	check := b.Validate
	if preview {
		check = b.ValidateSelection
	}
	if err := check(); err != nil {
		return nil, err
	}
	if _, err := actor(ctx, bulkPermission[b.Action]); err != nil {
		return nil, err
	}
	if b.Action == roster.BulkAddRole || b.Action == roster.BulkRemoveRole {
		if _, err := s.app.d.Roles.RoleByID(ctx, a.Scope, b.RoleID); err != nil {
			return nil, fieldNotFound(err, "role_id", "No such role.")
		}
	}
	return a, nil
}

// BulkPreview is what a bulk action would act on: the users' number and
// the first of them, for the confirmation.
type BulkPreview struct {
	Count int
	// Users are the first PreviewUsers users, by ID.
	Users []*roster.User
}

// PreviewUsers is how many users a bulk confirmation names.
const PreviewUsers = 20

// Preview tells which users a bulk action would act on, from the same
// query the action runs.
func (s *Users) Preview(ctx context.Context, b roster.BulkAction) (*BulkPreview, error) {
	a, err := s.checkBulk(ctx, &b, true)
	if err != nil {
		return nil, err
	}
	ids := b.UserIDs
	if b.Filter != nil {
		if ids, err = s.app.d.Users.UserIDs(ctx, a.Scope, *b.Filter, roster.MaxBulkUsers); err != nil {
			return nil, err
		}
		if len(ids) > roster.MaxBulkUsers {
			return nil, roster.Errorf(roster.EINVALID, "The filter matches more than %d users; narrow it.", roster.MaxBulkUsers)
		}
	} else {
		ids = dedupe(ids)
	}
	p := &BulkPreview{Count: len(ids), Users: []*roster.User{}}
	if first := ids[:min(len(ids), PreviewUsers)]; len(first) > 0 {
		page, err := s.app.d.Users.Users(ctx, a.Scope, roster.UserFilter{IDs: first, Limit: PreviewUsers, Sort: "name"})
		if err != nil {
			return nil, err
		}
		p.Users = page.Items
	}
	return p, nil
}

// Bulk applies one action to many users, all or nothing (U12): when any
// user is refused nothing changes and the error lists a reason per user.
func (s *Users) Bulk(ctx context.Context, b roster.BulkAction) (*roster.BulkResult, error) {
	a, err := s.checkBulk(ctx, &b, false)
	if err != nil {
		return nil, err
	}
	res, err := s.app.d.Users.BulkUsers(ctx, a.Scope, b)
	if err != nil {
		return nil, err
	}
	if res.UserIDs == nil {
		res.UserIDs = []int64{}
	}
	return res, nil
}

// BulkInTurn applies bulk actions one after another, all or nothing
// together: a refusal in any of them changes nothing. SCIM's group
// membership changes (removals, then additions) go through it.
func (s *Users) BulkInTurn(ctx context.Context, bs ...roster.BulkAction) ([]*roster.BulkResult, error) {
	var a *roster.Actor
	for i := range bs {
		var err error
		if a, err = s.checkBulk(ctx, &bs[i], false); err != nil {
			return nil, err
		}
	}
	if a == nil {
		return []*roster.BulkResult{}, nil
	}
	out, err := s.app.d.Users.BulkUsersInTurn(ctx, a.Scope, bs)
	if err != nil {
		return nil, err
	}
	for _, res := range out {
		if res.UserIDs == nil {
			res.UserIDs = []int64{}
		}
	}
	return out, nil
}

// dedupe returns ids without repeats, in their first order.
func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
