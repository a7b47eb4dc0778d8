package app

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/mail"
	"github.com/roster-app/roster/secure"
)

// ImportColumns are the columns of a users import file. The header names
// them, in any order; every one is required but credentials. The extra
// columns of an export (id, company_id, status, created_at,
// last_login_at) are accepted and ignored, so an export imports back.
var ImportColumns = []string{"auth_method", "email", "login", "first_name", "middle_name", "last_name",
	"phone", "work_phone", "position", "roles", "credentials"}

// ignoredColumns are export columns an import accepts and ignores.
var ignoredColumns = []string{"id", "company_id", "status", "created_at", "last_login_at"}

// MaxImportRows bounds the users of one import file.
const MaxImportRows = 200_000

// maxImportErrors bounds the errors an import reports: past it, the file
// is surely not what was meant.
const maxImportErrors = 1000

// ImportOptions say where and how a CSV import goes.
type ImportOptions struct {
	// CompanyID is the company of the new users (0: the actor's own).
	CompanyID int64
	// DryRun checks everything and writes nothing.
	DryRun bool
	// UpdateExisting makes a row whose e-mail (method email) or login
	// (method login) belongs to a user of the company update that user;
	// without it such a row is an error.
	UpdateExisting bool
}

// TemporaryPassword is a generated password of an imported user, shown once.
type TemporaryPassword struct {
	Line     int    `json:"line"`
	Email    string `json:"email"`
	Login    string `json:"login"`
	Password string `json:"password"`
}

// ImportResult is what an import did (or, dry, would do).
type ImportResult struct {
	DryRun             bool                `json:"dry_run"`
	Created            int                 `json:"created"`
	Updated            int                 `json:"updated"`
	Errors             []roster.FieldError `json:"errors"`
	TemporaryPasswords []TemporaryPassword `json:"temporary_passwords"`
}

// importRow is one checked row.
type importRow struct {
	line   int
	create *roster.ImportCreate
	update *roster.ImportUpdate
	creds  string
}

// Import creates and updates users from a CSV file (issue 10, item 4) with
// the rules of the single create (newUserChecker) and the single update
// (UserUpdate.Validate, roles within the actor's grants): every row is
// checked before anything is written, and then everything is written in
// one transaction — all or nothing. Any error answers EINVALID whose
// fields carry the line and column of each problem (at most 1000); a line
// that is not CSV stops the reading at once, with its number. New users
// get an invitation (the default for the e-mail method) or a generated
// temporary password (the login method's default), returned once.
func (s *Users) Import(ctx context.Context, opt ImportOptions, r io.Reader) (*ImportResult, error) {
	a, err := actor(ctx, roster.PermUsersCreate)
	if err != nil {
		return nil, err
	}
	store, ok := s.app.d.Users.(roster.UserImportService)
	if !ok {
		return nil, fmt.Errorf("import: the store cannot import")
	}
	if err := s.app.companyIn(ctx, a, &opt.CompanyID); err != nil {
		return nil, err
	}
	recs, lines, err := readImport(r)
	if err != nil {
		return nil, err
	}
	header, cols := recs[0], map[string]int{}
	for i, name := range header {
		cols[name] = i
	}
	// Who exists already, in one look-up.
	var names []string
	for _, rec := range recs[1:] {
		for _, c := range []string{"email", "login"} {
			if v := roster.NormalizeLogin(cell(rec, cols, c)); v != "" {
				names = append(names, v)
			}
		}
	}
	existing, err := store.UsersByUsernames(ctx, names)
	if err != nil {
		return nil, err
	}
	chk := s.newChecker(a)
	roleKeys := map[string]int64{}
	seen := map[string]int{}
	var errs []roster.FieldError
	rows := make([]importRow, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		line := lines[i+1]
		row, ferrs, err := s.importRow(ctx, a, chk, opt, line, rec, cols, roleKeys, existing, seen)
		if err != nil {
			return nil, err
		}
		if len(ferrs) > 0 {
			errs = append(errs, ferrs...)
			if len(errs) >= maxImportErrors {
				break
			}
			continue
		}
		rows = append(rows, row)
	}
	if len(errs) > 0 {
		return nil, importErrors(errs)
	}
	res := &ImportResult{DryRun: opt.DryRun, Errors: []roster.FieldError{}, TemporaryPasswords: []TemporaryPassword{}}
	var creates []roster.ImportCreate
	var updates []roster.ImportUpdate
	for _, row := range rows {
		if row.create != nil {
			res.Created++
		} else {
			res.Updated++
		}
	}
	if opt.DryRun {
		return res, nil
	}
	if err := s.prepareCreates(ctx, a, opt.CompanyID, rows, res); err != nil {
		return nil, err
	}
	for _, row := range rows {
		if row.create != nil {
			creates = append(creates, *row.create)
		} else {
			updates = append(updates, *row.update)
		}
	}
	if err := store.ImportUsers(ctx, a.Scope, creates, updates); err != nil {
		var e *roster.Error
		if errors.As(err, &e) && len(e.Fields) > 0 && e.Fields[0].Line > 0 {
			fields := make([]roster.FieldError, len(e.Fields))
			for i, f := range e.Fields {
				f.Field = columnOf(f.Field)
				f.Column = f.Field
				fields[i] = f
			}
			return nil, importErrors(fields)
		}
		return nil, err
	}
	if len(creates) > 0 {
		s.app.JobsWritten()
	}
	return res, nil
}

// readImport reads the whole file: the header checked, every record with
// the line it starts on. A broken line stops it with that line's number.
func readImport(r io.Reader) ([][]string, []int, error) {
	cr := csv.NewReader(&bomSkipper{r: r})
	cr.FieldsPerRecord = -1
	var recs [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				// Reading failed (an upload over the size limit): the
				// front door says why.
				return nil, nil, err
			}
			line := pe.Line
			return nil, nil, importErrors([]roster.FieldError{{Field: "csv", Code: "bad_csv", Line: line,
				Message: fmt.Sprintf("Line %d is not valid CSV (%s); nothing was imported.", line, pe.Err.Error())}})
		}
		line, _ := cr.FieldPos(0)
		if len(recs) == 0 {
			if err := checkHeader(rec); err != nil {
				return nil, nil, err
			}
		} else if len(rec) != len(recs[0]) {
			return nil, nil, importErrors([]roster.FieldError{{Field: "csv", Code: "bad_csv", Line: line,
				Message: fmt.Sprintf("Line %d has %d cells, the header %d; nothing was imported.", line, len(rec), len(recs[0]))}})
		}
		if len(recs) > MaxImportRows {
			return nil, nil, importErrors([]roster.FieldError{{Field: "csv", Code: "too_many_rows", Line: line,
				Message: fmt.Sprintf("A file holds at most %d users; split it.", MaxImportRows)}})
		}
		recs, lines = append(recs, rec), append(lines, line)
	}
	if len(recs) == 0 {
		return nil, nil, importErrors([]roster.FieldError{{Field: "csv", Code: "required", Line: 1,
			Message: "The file is empty: it needs a header row and one row per user."}})
	}
	return recs, lines, nil
}

// checkHeader checks the header row: known names, each once, every
// required one present.
func checkHeader(h []string) error {
	var errs []roster.FieldError
	seen := map[string]bool{}
	for i, name := range h {
		name = strings.ToLower(strings.TrimSpace(name))
		h[i] = name
		switch {
		case !slices.Contains(ImportColumns, name) && !slices.Contains(ignoredColumns, name):
			errs = append(errs, roster.FieldError{Field: roster.SafeText(name), Column: roster.SafeText(name), Code: "unknown_column", Line: 1,
				Message: fmt.Sprintf("Unknown column %q; the columns are %s.", roster.SafeText(name), strings.Join(ImportColumns, ", "))})
		case seen[name]:
			errs = append(errs, roster.FieldError{Field: name, Column: name, Code: "repeated_column", Line: 1,
				Message: fmt.Sprintf("The column %s appears twice.", name)})
		}
		seen[name] = true
	}
	for _, c := range ImportColumns {
		if !seen[c] && c != "credentials" {
			errs = append(errs, roster.FieldError{Field: c, Column: c, Code: "missing_column", Line: 1,
				Message: fmt.Sprintf("The header lacks the column %s.", c)})
		}
	}
	if len(errs) > 0 {
		return importErrors(errs)
	}
	return nil
}

// cell is a row's value of a column ("" when the file has no such column),
// with an export's formula guard (SafeCell) taken off.
func cell(rec []string, cols map[string]int, name string) string {
	i, ok := cols[name]
	if !ok {
		return ""
	}
	v := rec[i]
	if len(v) > 1 && v[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(v[1])) {
		v = v[1:]
	}
	return v
}

// columnOf names the file's column of a workflow field.
func columnOf(field string) string {
	switch field {
	case "role_ids":
		return "roles"
	case "password":
		return "credentials"
	}
	return field
}

// importErrors is the error of an import refused for errs.
func importErrors(errs []roster.FieldError) error {
	for i := range errs {
		if errs[i].Column == "" && errs[i].Field != "csv" {
			errs[i].Column = errs[i].Field
		}
	}
	msg := "The file has errors; nothing was imported."
	if len(errs) == 1 {
		msg = errs[0].Message
	}
	return &roster.Error{Code: roster.EINVALID, Message: msg, Fields: errs}
}

// importRow checks one row: its fields (answered as field errors on its
// line) or an internal error.
func (s *Users) importRow(ctx context.Context, a *roster.Actor, chk *newUserChecker, opt ImportOptions, line int, rec []string,
	cols map[string]int, roleKeys map[string]int64, existing map[string]*roster.User, seen map[string]int) (importRow, []roster.FieldError, error) {
	row := importRow{line: line}
	get := func(c string) string { return cell(rec, cols, c) }
	var ferrs []roster.FieldError
	add := func(col, code, msg string) {
		ferrs = append(ferrs, roster.FieldError{Field: col, Column: col, Code: code, Message: msg, Line: line})
	}
	addErr := func(err error) error {
		var e *roster.Error
		if !errors.As(err, &e) || (e.Code != roster.EINVALID && e.Code != roster.EFORBIDDEN && e.Code != roster.ECONFLICT) {
			return err
		}
		if len(e.Fields) == 0 {
			add("roles", strings.ToLower(e.Code), e.Message)
		}
		for _, f := range e.Fields {
			col := columnOf(f.Field)
			if col == "roles" && f.Code == "required" && slices.ContainsFunc(ferrs, func(x roster.FieldError) bool { return x.Column == "roles" }) {
				continue // an unknown role was named: that says it
			}
			f.Field, f.Column, f.Line = col, col, line
			ferrs = append(ferrs, f)
		}
		return nil
	}
	// Roles by key, separated by ;.
	var roleIDs []int64
	roleCell := strings.TrimSpace(get("roles"))
	for _, key := range strings.Split(roleCell, ";") {
		key = strings.ToLower(strings.TrimSpace(key))
		if key == "" {
			continue
		}
		id, ok := roleKeys[key]
		if !ok {
			r, err := s.app.d.Roles.RoleByKey(ctx, opt.CompanyID, key)
			switch {
			case roster.ErrorCode(err) == roster.ENOTFOUND:
			case err != nil:
				return row, nil, err
			default:
				id = r.ID
			}
			roleKeys[key] = id
		}
		if id == 0 {
			add("roles", "unknown_role", fmt.Sprintf("Unknown role %q: give role keys separated by ;.", roster.SafeText(key)))
			continue
		}
		roleIDs = append(roleIDs, id)
	}
	creds := strings.ToLower(strings.TrimSpace(get("credentials")))
	if creds == roster.CredentialsManual {
		add("credentials", "invalid_choice", `An import gives "invitation" or "generated" credentials; a typed password is not taken from a file.`)
		creds = "?"
	}
	n := roster.NewUser{CompanyID: opt.CompanyID, AuthMethod: roster.AuthMethod(strings.ToLower(strings.TrimSpace(get("auth_method")))),
		Email: get("email"), Login: get("login"), FirstName: get("first_name"), MiddleName: get("middle_name"), LastName: get("last_name"),
		Phone: get("phone"), WorkPhone: get("work_phone"), Position: get("position"), RoleIDs: roleIDs, Credentials: creds}
	n.Normalize()
	key := n.Email
	if n.AuthMethod == roster.AuthLogin {
		key = n.Login
	}
	// A user the file names twice.
	for _, c := range []struct{ col, v string }{{"email", n.Email}, {"login", n.Login}} {
		if c.v == "" {
			continue
		}
		if first, dup := seen[c.v]; dup {
			add(c.col, "duplicate", fmt.Sprintf("%s is also on line %d.", c.v, first))
		} else {
			seen[c.v] = line
		}
	}
	if u := existing[key]; key != "" && u != nil {
		if !opt.UpdateExisting || u.CompanyID != opt.CompanyID {
			col := "email"
			if n.AuthMethod == roster.AuthLogin {
				col = "login"
			}
			msg := "A user with this " + map[string]string{"email": "e-mail", "login": "login"}[col] + " already exists."
			if u.CompanyID == opt.CompanyID {
				msg += " To update them, import with update_existing=true."
			}
			add(col, "exists", msg)
			return row, ferrs, nil
		}
		upd, rerr := s.importUpdate(ctx, a, chk, u, n, roleCell != "", add)
		if rerr != nil {
			return row, nil, rerr
		}
		upd.Line = line
		row.update = upd
		return row, ferrs, nil
	}
	// The other name of a new user must be free too.
	for _, c := range []struct{ col, v string }{{"email", n.Email}, {"login", n.Login}} {
		if c.v != "" && c.v != key && existing[c.v] != nil {
			add(c.col, "exists", "A user with this "+map[string]string{"email": "e-mail", "login": "login"}[c.col]+" already exists.")
		}
	}
	u, err := chk.check(ctx, &n)
	if err != nil {
		if err := addErr(err); err != nil {
			return row, nil, err
		}
		return row, ferrs, nil
	}
	row.create = &roster.ImportCreate{Line: line, User: u, RoleIDs: n.RoleIDs}
	row.creds = n.Credentials
	return row, ferrs, nil
}

// importUpdate checks a row that updates user u with the rules of the
// single update: the workflow's permissions, UserUpdate.Validate (e-mail,
// login and method never change), a name the user set themselves stays
// theirs, roles within the actor's grants and never one's own.
func (s *Users) importUpdate(ctx context.Context, a *roster.Actor, chk *newUserChecker, u *roster.User, n roster.NewUser, roles bool,
	add func(col, code, msg string)) (*roster.ImportUpdate, error) {
	if n.AuthMethod != u.AuthMethod {
		add("auth_method", "immutable", "The authorization method never changes after creation.")
	}
	if n.Email != "" && n.Email != u.Email {
		add("email", "immutable", "E-mail never changes after creation.")
	}
	if n.Login != "" && n.Login != u.Login {
		add("login", "immutable", "A login never changes after creation.")
	}
	upd := roster.UserUpdate{}
	set := func(p **string, v, cur string) {
		if v != cur {
			vv := v
			*p = &vv
		}
	}
	set(&upd.FirstName, n.FirstName, u.FirstName)
	set(&upd.MiddleName, n.MiddleName, u.MiddleName)
	set(&upd.LastName, n.LastName, u.LastName)
	set(&upd.Phone, n.Phone, u.Phone)
	set(&upd.WorkPhone, n.WorkPhone, u.WorkPhone)
	set(&upd.Position, n.Position, u.Position)
	if err := upd.Validate(); err != nil {
		var e *roster.Error
		if !errors.As(err, &e) {
			return nil, err
		}
		for _, f := range e.Fields {
			add(columnOf(f.Field), f.Code, f.Message)
		}
	}
	changes := upd.FirstName != nil || upd.MiddleName != nil || upd.LastName != nil || upd.Phone != nil || upd.WorkPhone != nil || upd.Position != nil
	if changes && !a.Can(roster.PermUsersEdit) {
		add("email", "forbidden", "Updating users needs users.edit.")
	}
	if upd.ChangesName() && u.NameSetBySelf && (a.User == nil || u.ID != a.User.ID) {
		add("first_name", "name_set_by_user", "This user set their own name; only they can change it.")
	}
	out := &roster.ImportUpdate{UserID: u.ID, Update: upd}
	if roles {
		held := make([]int64, len(u.Roles))
		for i, r := range u.Roles {
			held[i] = r.ID
		}
		want := dedupe(n.RoleIDs)
		if !sameIDs(held, want) && len(want) > 0 {
			switch {
			case !a.Can(roster.PermUsersRoles):
				add("roles", "forbidden", "Changing roles needs users.roles.")
			case a.User != nil && u.ID == a.User.ID:
				add("roles", "forbidden", "You cannot change your own roles.")
			default:
				if err := chk.checkRoles(ctx, u.CompanyID, want); err != nil {
					var e *roster.Error
					if !errors.As(err, &e) {
						return nil, err
					}
					for _, f := range e.Fields {
						add("roles", f.Code, f.Message)
					}
				} else {
					// Granted and revoked roles alike stay within the actor's own.
					var changed []int64
					for _, id := range want {
						if !slices.Contains(held, id) {
							changed = append(changed, id)
						}
					}
					for _, id := range held {
						if !slices.Contains(want, id) {
							changed = append(changed, id)
						}
					}
					if err := chk.checkGrants(ctx, u.CompanyID, changed); err != nil {
						if roster.ErrorCode(err) != roster.EFORBIDDEN {
							return nil, err
						}
						add("roles", "forbidden", roster.ErrorMessage(err))
					}
				}
				out.RoleIDs = want
			}
		}
	}
	return out, nil
}

func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// prepareCreates makes what new users get: an invitation and its e-mail,
// or a generated password and its hash — hashed with bounded concurrency
// (argon2id costs memory), and the e-mails built in parallel too.
func (s *Users) prepareCreates(ctx context.Context, a *roster.Actor, companyID int64, rows []importRow, res *ImportResult) error {
	cs, err := s.app.Settings(ctx, companyID)
	if err != nil {
		return err
	}
	var company string
	if c, err := s.app.d.Companies.CompanyByID(ctx, roster.Scope{All: true}, companyID); err == nil {
		company = c.Name
	}
	base, inviter, now := s.app.BaseURL(ctx), a.Name(), s.app.now()
	box, err := s.app.Outbox(ctx)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if row.create != nil && row.creds == roster.CredentialsInvitation {
			u := row.create.User
			if _, err := box.NewJob(u.Email, u.Lang, mail.KindInvitation, mail.Invitation{BaseURL: base, Token: "check",
				Name: u.DisplayName(), ValidFor: cs.InvitationTTL(), InvitedBy: inviter, Company: company}); err != nil {
				return err
			}
			break
		}
	}
	passwords := make([]string, len(rows))
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c := rows[i].create
				u := c.User
				var err error
				switch rows[i].creds {
				case roster.CredentialsInvitation:
					token, hash := secure.NewToken()
					c.InvitationHash, c.InvitationExpiry = hash, now.Add(cs.InvitationTTL())
					u.Status = roster.StatusInvited
					data := mail.Invitation{BaseURL: base, Token: token,
						Name: strings.TrimSpace(u.FirstName + " " + u.LastName), ValidFor: cs.InvitationTTL(), InvitedBy: inviter, Company: company}
					// The e-mail of every row is built like the first
					// one, which was rendered (checked) before the work began.
					c.Job, err = box.Seal(u.Email, u.Lang, mail.KindInvitation, data)
				default:
					pw := secure.GeneratePassword()
					passwords[i] = pw
					u.Status, u.PasswordTemporary = roster.StatusActive, true
					u.PasswordHash, err = s.app.d.Hasher.Hash(ctx, pw)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range rows {
		if rows[i].create != nil {
			work <- i
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	for i, pw := range passwords {
		if pw != "" {
			u := rows[i].create.User
			res.TemporaryPasswords = append(res.TemporaryPasswords, TemporaryPassword{Line: rows[i].line, Email: u.Email, Login: u.Login, Password: pw})
		}
	}
	return nil
}

// bomSkipper drops a UTF-8 byte order mark at the start of a file.
type bomSkipper struct {
	r    io.Reader
	done bool
	buf  []byte
}

func (b *bomSkipper) Read(p []byte) (int, error) {
	if !b.done {
		b.done = true
		head := make([]byte, 3)
		n, err := io.ReadFull(b.r, head)
		head = head[:n]
		if string(head) != "\uFEFF" {
			b.buf = head
		}
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return 0, err
		}
	}
	if len(b.buf) > 0 {
		n := copy(p, b.buf)
		b.buf = b.buf[n:]
		return n, nil
	}
	return b.r.Read(p)
}
