package roster

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// AuthMethod is how a user signs in.
type AuthMethod string

// Authorization methods (SPEC §1).
const (
	// AuthEmail users sign in with their e-mail, in the panel and the apps.
	AuthEmail AuthMethod = "email"
	// AuthLogin users sign in with an admin-made login, in the apps and API only.
	AuthLogin AuthMethod = "login"
)

// UserStatus is the state of a user account.
type UserStatus string

// User statuses. Deletion is not a status: a deleted user is gone.
const (
	StatusInvited UserStatus = "invited"
	StatusActive  UserStatus = "active"
	StatusBlocked UserStatus = "blocked"
)

// Invitation filter values.
const (
	InvitationPending  = "pending"
	InvitationExpired  = "expired"
	InvitationAccepted = "accepted"
)

// Ways the first password of a new user comes.
const (
	CredentialsInvitation = "invitation"
	CredentialsGenerated  = "generated"
	CredentialsManual     = "manual"
)

// InvitationTTL is how long a registration link is valid (SPEC U4).
const InvitationTTL = 8 * time.Hour

// User is a person with an account in one company.
type User struct {
	ID         int64      `json:"id"`
	CompanyID  int64      `json:"company_id"`
	AuthMethod AuthMethod `json:"auth_method"`
	Email      string     `json:"email"`
	Login      string     `json:"login"`
	FirstName  string     `json:"first_name"`
	MiddleName string     `json:"middle_name"`
	LastName   string     `json:"last_name"`
	Phone      string     `json:"phone"`
	WorkPhone  string     `json:"work_phone"`
	Position   string     `json:"position"`
	Status     UserStatus `json:"status"`
	Roles      []RoleRef  `json:"roles"`
	CreatedBy  *int64     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	// LastLoginAt is the last successful sign-in.
	LastLoginAt *time.Time `json:"last_login_at"`
	// InvitationExpiresAt is set while an invitation is pending.
	InvitationExpiresAt *time.Time `json:"invitation_expires_at,omitempty"`
	// NameSetBySelf is true once the user set their own name: admins may
	// edit a name only before that (SPEC U6).
	NameSetBySelf bool `json:"name_set_by_self"`

	// PasswordHash is the argon2id hash, empty when no password is set yet.
	PasswordHash string `json:"-"`
	// PasswordTemporary forces a password change at the next sign-in.
	PasswordTemporary bool `json:"password_change_required"`

	// Credentials and sign-in security (credentials.go).

	// Lang is the language of the user's e-mail: "en" or "ru".
	Lang string `json:"lang"`
	// MFAMethod is the second factor: MFANone, MFAEmail or MFATOTP.
	MFAMethod string `json:"mfa_method"`
	// IPAllowlist holds the addresses and ranges the user may come from;
	// empty means any (SPEC A3).
	IPAllowlist []string `json:"ip_allowlist"`
	// IdleTimeoutSeconds is the user's idle logout; nil means the company default.
	IdleTimeoutSeconds *int `json:"idle_timeout_seconds"`
	// LockedUntil is set while sign-in is locked after too many failures.
	LockedUntil *time.Time `json:"locked_until"`
	// FailedLogins counts consecutive failed sign-ins.
	FailedLogins int `json:"-"`
	// TOTPSecret is the encrypted TOTP secret; TOTPLastStep the last time
	// step accepted, so a code works once.
	TOTPSecret   string `json:"-"`
	TOTPLastStep int64  `json:"-"`

	// Operations (issue 5): the user's queues, presence, dialogue maximum
	// and client visibility. CallsHandled is set only where the company has
	// call statistics on.
	Queues          []GroupRef    `json:"queues"`
	Presence        string        `json:"presence"`
	MaxDialogues    int           `json:"max_dialogues"`
	ActiveDialogues int           `json:"active_dialogues"`
	CallsHandled    *int          `json:"calls_handled,omitempty"`
	ClientTagIDs    []int64       `json:"client_tags"`
	CountriesRule   CountriesRule `json:"countries_rule"`
	MaskData        bool          `json:"mask_data"`

	// Directory fields an identity provider sets through SCIM (issue 10):
	// its own ID of the user (externalId) and the enterprise user
	// extension's employee number, department and manager (a user of the
	// same company). Empty and nil mean unset.
	ExternalID     string `json:"external_id"`
	EmployeeNumber string `json:"employee_number"`
	Department     string `json:"department"`
	ManagerID      *int64 `json:"manager_id"`
}

// DisplayName is the user's full name, or their e-mail or login when unnamed.
func (u *User) DisplayName() string {
	name := strings.Join(strings.Fields(u.FirstName+" "+u.MiddleName+" "+u.LastName), " ")
	if name != "" {
		return name
	}
	if u.Email != "" {
		return u.Email
	}
	return u.Login
}

// SortName is the key users are ordered by name with: last name, then
// first and middle name, lower-cased; the e-mail or login when unnamed.
func (u *User) SortName() string {
	name := strings.Join(strings.Fields(u.LastName+" "+u.FirstName+" "+u.MiddleName), " ")
	if name == "" {
		name = u.DisplayName()
	}
	return strings.ToLower(name)
}

// Username is what the user signs in with.
func (u *User) Username() string {
	if u.AuthMethod == AuthLogin {
		return u.Login
	}
	return u.Email
}

// HasRole reports whether the user holds the role with key.
func (u *User) HasRole(key string) bool {
	for _, r := range u.Roles {
		if r.Key == key {
			return true
		}
	}
	return false
}

// NewUser is the input of CreateUser after the transport layer decoded it.
type NewUser struct {
	CompanyID   int64
	AuthMethod  AuthMethod
	Email       string
	Login       string
	FirstName   string
	MiddleName  string
	LastName    string
	Phone       string
	WorkPhone   string
	Position    string
	RoleIDs     []int64
	Credentials string // CredentialsInvitation, CredentialsGenerated or CredentialsManual
	Password    string // for CredentialsManual
	// SendEmail e-mails the user a single-use link to set their own
	// password, with a generated or typed first password ("Send to
	// e-mail", seed 003); the password itself is never sent.
	SendEmail bool
	// Lang is the language of the user's e-mail, "en" or "ru"; empty
	// means English.
	Lang string
	// Directory fields (see User); ManagerID nil means none.
	ExternalID, EmployeeNumber, Department string
	ManagerID                              *int64
}

// Normalize trims fields, lower-cases e-mail and login and fills defaults.
func (n *NewUser) Normalize() {
	n.Email = NormalizeEmail(n.Email)
	n.Login = NormalizeLogin(n.Login)
	for _, p := range []*string{&n.FirstName, &n.MiddleName, &n.LastName, &n.Phone, &n.WorkPhone, &n.Position,
		&n.ExternalID, &n.EmployeeNumber, &n.Department} {
		*p = strings.TrimSpace(*p)
	}
	if n.Credentials == "" {
		if n.AuthMethod == AuthLogin {
			n.Credentials = CredentialsGenerated
		} else {
			n.Credentials = CredentialsInvitation
		}
	}
}

// Validate checks a new user (after Normalize). Uniqueness is the store's job.
func (n *NewUser) Validate() error {
	var v Validation
	switch n.AuthMethod {
	case AuthEmail:
		ValidateEmail(&v, "email", n.Email)
		if n.Login != "" {
			ValidateLogin(&v, "login", n.Login)
		}
	case AuthLogin:
		ValidateLogin(&v, "login", n.Login)
		if n.Email != "" {
			ValidateEmail(&v, "email", n.Email)
		}
		if n.FirstName == "" {
			v.Add("first_name", "required", "Enter a first name.")
		}
		if n.LastName == "" {
			v.Add("last_name", "required", "Enter a last name.")
		}
	case "":
		v.Add("auth_method", "required", `Choose an authorization method: "email" or "login".`)
	default:
		v.Add("auth_method", "invalid_choice", `The authorization method is "email" or "login".`)
	}
	ValidateName(&v, "first_name", n.FirstName)
	ValidateName(&v, "middle_name", n.MiddleName)
	ValidateName(&v, "last_name", n.LastName)
	ValidatePhone(&v, "phone", n.Phone)
	ValidatePhone(&v, "work_phone", n.WorkPhone)
	ValidateText(&v, "position", n.Position, 100)
	validateDirectory(&v, &n.ExternalID, &n.EmployeeNumber, &n.Department)
	if len(n.RoleIDs) == 0 {
		v.Add("role_ids", "required", "Choose at least one role.")
	}
	switch n.Credentials {
	case CredentialsInvitation:
		if n.AuthMethod == AuthLogin {
			v.Add("credentials", "invitation_needs_email", "Only users who sign in with e-mail can be invited.")
		}
	case CredentialsGenerated:
	case CredentialsManual:
		if n.Password == "" {
			v.Add("password", "required", "Enter the first password.")
		}
	default:
		v.Add("credentials", "invalid_choice", `The first password comes by "invitation", "generated" or "manual".`)
	}
	if n.Credentials != CredentialsManual && n.Password != "" {
		v.Add("password", "not_allowed", `A password is typed only with credentials "manual".`)
	}
	if n.SendEmail {
		switch {
		case n.Credentials == CredentialsInvitation:
			v.Add("send_email", "not_applicable", "An invitation is e-mailed anyway: send_email goes with a generated or typed password.")
		case n.Email == "":
			v.Add("send_email", "email_required", "The link to set a password goes to the user's e-mail address: give one.")
		}
	}
	if n.Lang != "" && n.Lang != LangEnglish && n.Lang != LangRussian {
		v.Add("lang", "invalid_choice", `The language is "en" or "ru".`)
	}
	return v.Err()
}

// UserUpdate holds the editable fields of a user (SPEC U6); nil means unchanged.
// E-mail, login and authorization method never change after creation.
type UserUpdate struct {
	FirstName  *string
	MiddleName *string
	LastName   *string
	Phone      *string
	WorkPhone  *string
	Position   *string
	// Access and Operator change the user's access settings (A3, A4) and
	// operations settings (U5, R4) with the same update, in the same
	// transaction: a refused part leaves every part unchanged.
	Access   *AccessUpdate
	Operator *OperatorUpdate
	// Directory fields (see User). ManagerID set to a pointer to 0 clears
	// the manager.
	ExternalID, EmployeeNumber, Department *string
	ManagerID                              *int64
	// Email, Login and AuthMethod never change after creation (SPEC U6):
	// an update that sets them is refused, whatever their value.
	Email, Login, AuthMethod *string
}

// Normalize trims every set field.
func (u *UserUpdate) Normalize() {
	for _, p := range []*string{u.FirstName, u.MiddleName, u.LastName, u.Phone, u.WorkPhone, u.Position,
		u.ExternalID, u.EmployeeNumber, u.Department} {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
}

// Validate checks the set fields.
func (u *UserUpdate) Validate() error {
	var v Validation
	if u.FirstName != nil {
		ValidateName(&v, "first_name", *u.FirstName)
	}
	if u.MiddleName != nil {
		ValidateName(&v, "middle_name", *u.MiddleName)
	}
	if u.LastName != nil {
		ValidateName(&v, "last_name", *u.LastName)
	}
	if u.Phone != nil {
		ValidatePhone(&v, "phone", *u.Phone)
	}
	if u.WorkPhone != nil {
		ValidatePhone(&v, "work_phone", *u.WorkPhone)
	}
	if u.Position != nil {
		ValidateText(&v, "position", *u.Position, 100)
	}
	validateDirectory(&v, u.ExternalID, u.EmployeeNumber, u.Department)
	for _, f := range []struct {
		field, what string
		p           *string
	}{{"email", "E-mail", u.Email}, {"login", "A login", u.Login}, {"auth_method", "The authorization method", u.AuthMethod}} {
		if f.p != nil {
			v.Add(f.field, "immutable", f.what+" never changes after creation.")
		}
	}
	if u.Access != nil {
		u.Access.validate(&v)
	}
	if u.Operator != nil {
		u.Operator.validate(&v)
	}
	return v.Err()
}

// validateDirectory checks the directory fields that are set.
func validateDirectory(v *Validation, externalID, employeeNumber, department *string) {
	if externalID != nil {
		ValidateText(v, "external_id", *externalID, 255)
	}
	if employeeNumber != nil {
		ValidateText(v, "employee_number", *employeeNumber, 64)
	}
	if department != nil {
		ValidateText(v, "department", *department, 100)
	}
}

// ChangesDirectory reports whether the update touches a directory field.
func (u *UserUpdate) ChangesDirectory() bool {
	return u.ExternalID != nil || u.EmployeeNumber != nil || u.Department != nil || u.ManagerID != nil
}

// ChangesName reports whether the update touches the name.
func (u *UserUpdate) ChangesName() bool {
	return u.FirstName != nil || u.MiddleName != nil || u.LastName != nil
}

// UserFilter selects users for a list. Zero values mean "any".
type UserFilter struct {
	// Query matches the ID exactly, and name, e-mail, login and phones
	// partially and case-insensitively.
	Query      string
	Status     UserStatus
	RoleID     *int64
	Invitation string // InvitationPending, InvitationExpired, InvitationAccepted
	CompanyID  *int64
	// Queue is a queue ID, or QueueNone for active users in no queue.
	Queue string
	IDs   []int64
	// UserName matches the e-mail or the login exactly (case-insensitively);
	// ExternalID the identity provider's ID exactly. SCIM clients look
	// users up by these on every sync.
	UserName, ExternalID string
	// LastSignInBefore matches users whose last sign-in was before it;
	// NeverSignedIn (true) those who never signed in, (false) those who
	// did. Both set to "before T" and true match either: nobody who
	// signed in since T (dormant accounts).
	LastSignInBefore *time.Time
	NeverSignedIn    *bool
	Sort             string // one of UserSorts
	Limit            int
	Cursor           string
}

// UserSorts are the accepted sort orders; "-" means descending. "name" is
// by last name, then first and middle name (SortName); "created_at" is
// creation order; "last_login_at" puts those who never signed in first;
// "status" groups active, blocked and invited users (in that order), each
// by name.
var UserSorts = []string{"name", "-name", "created_at", "-created_at", "last_login_at", "-last_login_at", "status", "-status"}

// Limits of a users page.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Validate checks the filter's enumerations and fills defaults.
func (f *UserFilter) Validate() error {
	var v Validation
	f.Query = strings.TrimSpace(f.Query)
	if len([]rune(f.Query)) > 100 {
		v.Add("q", "too_long", "A search is at most 100 characters.")
	} else {
		ValidateTextKind(&v, "q", f.Query, SingleLine)
	}
	switch f.Status {
	case "", StatusInvited, StatusActive, StatusBlocked:
	default:
		v.Add("status", "invalid_choice", "The status is invited, active or blocked.")
	}
	switch f.Invitation {
	case "", InvitationPending, InvitationExpired, InvitationAccepted:
	default:
		v.Add("invitation", "invalid_choice", "The invitation status is pending, expired or accepted.")
	}
	if f.Queue != "" && f.Queue != QueueNone && !isPositiveInt(f.Queue) {
		v.Add("queue", "invalid_queue", `The queue is a queue ID or "none".`)
	}
	if f.Sort == "" {
		f.Sort = "name"
	}
	valid := false
	for _, s := range UserSorts {
		valid = valid || s == f.Sort
	}
	if !valid {
		v.Add("sort", "invalid_choice", "Sort by name, created_at, last_login_at or status, with a leading - for descending.")
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultPageSize
	case f.Limit < 1 || f.Limit > MaxPageSize:
		v.Add("limit", "out_of_range", "The page size is 1 to 200.")
	}
	return v.Err()
}

// UserPage is one page of a users list.
type UserPage struct {
	Items      []*User `json:"items"`
	Total      int     `json:"total"`
	NextCursor string  `json:"next_cursor"`
	// PrevCursor leads to the page before this one; empty on the first.
	PrevCursor string `json:"prev_cursor,omitempty"`
	// Offset is how many users come before this page, so that a reader
	// can be told "51–100 of 20,000".
	Offset int `json:"offset"`
	// TotalCapped is true when Total is a lower bound: counting stopped at
	// a cap so that a huge result does not cost a full count.
	TotalCapped bool `json:"total_capped,omitempty"`
	// TotalEstimated is true when Total is the database's estimate of a
	// large search result rather than a count.
	TotalEstimated bool `json:"total_estimated,omitempty"`
	// Sort is the order applied, one of UserSorts. It differs from the
	// filter's only when a search matches too many users to sort them
	// quickly (on SQLite, in an order other than by name): they then come
	// in creation order ("created_at", or "-created_at" for a descending
	// order).
	Sort string `json:"sort"`
}

var (
	loginRE = regexp.MustCompile(`^[a-z0-9]{2,64}$`)
	phoneRE = regexp.MustCompile(`^\+?[0-9 ()\-.]{3,32}$`)
)

// NormalizeEmail trims and lower-cases an e-mail address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// NormalizeLogin trims and lower-cases a login: logins are case-insensitive.
func NormalizeLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateEmail checks a normalized e-mail address.
func ValidateEmail(v *Validation, field, email string) {
	if email == "" {
		v.Add(field, "required", "Enter an e-mail address.")
		return
	}
	if !ValidateTextKind(v, field, email, SingleLine) {
		return
	}
	a, err := mail.ParseAddress(email)
	at := strings.LastIndexByte(email, '@')
	if err != nil || a.Address != email || a.Name != "" || len(email) > 254 || at < 1 ||
		!strings.Contains(email[at+1:], ".") || strings.ContainsAny(email, " <>\"") {
		v.Add(field, "invalid_email", "Enter a valid e-mail address, like name@example.com.")
	}
}

// ValidateLogin checks a normalized login: Latin letters and digits only.
func ValidateLogin(v *Validation, field, login string) {
	switch {
	case login == "":
		v.Add(field, "required", "Enter a login.")
	case !loginRE.MatchString(login):
		v.Add(field, "invalid_login", "A login is 2–64 Latin letters and digits only.")
	}
}

// ValidateName checks one part of a person's name: one line of text
// (CheckText) without < > " @.
func ValidateName(v *Validation, field, s string) {
	if len([]rune(s)) > 100 {
		v.Add(field, "too_long", "A name is at most 100 characters.")
		return
	}
	if !ValidateTextKind(v, field, s, SingleLine) {
		return
	}
	if strings.ContainsAny(s, "<>\"@") {
		v.Add(field, "invalid_name", "A name cannot contain < > \" @.")
	}
}

// ValidatePhone checks an optional phone number.
func ValidatePhone(v *Validation, field, s string) {
	if s != "" && !phoneRE.MatchString(s) {
		v.Add(field, "invalid_phone", "Enter a phone number: digits, spaces, brackets and dashes, with an optional +.")
	}
}

// ValidateText checks an optional single-line text of at most max characters.
func ValidateText(v *Validation, field, s string, max int) {
	if len([]rune(s)) > max {
		v.Add(field, "too_long", "This field is too long.")
		return
	}
	ValidateTextKind(v, field, s, SingleLine)
}
