package app

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
)

// ExportColumns are the columns of a users CSV export, in order. The
// first ten are those of an import file, so an export edited in a
// spreadsheet imports back (with the credentials column added).
var ExportColumns = []string{"auth_method", "email", "login", "first_name", "middle_name", "last_name",
	"phone", "work_phone", "position", "roles", "id", "company_id", "status", "created_at", "last_login_at"}

// utf8BOM starts an export so that spreadsheet programs (Excel) read it
// as UTF-8 and show Cyrillic names correctly.
const utf8BOM = "\uFEFF"

// SafeCell neutralises a cell a spreadsheet would run as a formula (CSV
// injection): one starting with = + - @, a tab or a carriage return gets a
// leading apostrophe, which spreadsheets show as text and do not display.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ExportCSV writes every user in the actor's scope matching f, in f's
// order, as CSV (UTF-8 with a byte order mark, CRLF line ends, cells
// neutralised by SafeCell) — exactly the users and order the list shows,
// with users.view. It reads keyset pages of MaxPageSize users and flushes
// after each, so memory stays flat however many users there are. begin
// is called once the first page has been read and before anything is
// written: errors before it (a bad filter, a missing permission) leave w
// untouched; an error after it means the output is cut short.
func (s *Users) ExportCSV(ctx context.Context, f roster.UserFilter, w io.Writer, begin func()) error {
	a, err := actor(ctx, roster.PermUsersView)
	if err != nil {
		return err
	}
	f.Limit, f.Cursor = roster.MaxPageSize, ""
	page, err := s.app.d.Users.Users(ctx, a.Scope, f)
	if err != nil {
		return err
	}
	begin()
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(ExportColumns); err != nil {
		return err
	}
	flusher, _ := w.(interface{ Flush() })
	record := make([]string, len(ExportColumns))
	for {
		for _, u := range page.Items {
			if err := cw.Write(exportRecord(record, u)); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		if page.NextCursor == "" {
			return nil
		}
		f.Cursor = page.NextCursor
		if page, err = s.app.d.Users.Users(ctx, a.Scope, f); err != nil {
			return err
		}
	}
}

// exportRecord fills rec with u's cells in ExportColumns' order.
func exportRecord(rec []string, u *roster.User) []string {
	keys := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		keys[i] = r.Key
	}
	last := ""
	if u.LastLoginAt != nil {
		last = u.LastLoginAt.UTC().Format(time.RFC3339)
	}
	vals := []string{string(u.AuthMethod), u.Email, u.Login, u.FirstName, u.MiddleName, u.LastName,
		u.Phone, u.WorkPhone, u.Position, strings.Join(keys, ";"), strconv.FormatInt(u.ID, 10),
		strconv.FormatInt(u.CompanyID, 10), string(u.Status), u.CreatedAt.UTC().Format(time.RFC3339), last}
	for i, v := range vals {
		rec[i] = SafeCell(v)
	}
	return rec
}
