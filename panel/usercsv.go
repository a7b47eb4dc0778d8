package panel

import (
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
	"github.com/roster-app/roster/panel/i18n"
)

// handleUsersExport downloads the users list, as filtered and sorted on the
// page, as CSV (the same file as GET /api/v1/users/export).
func (p *Panel) handleUsersExport(w http.ResponseWriter, r *http.Request) error {
	if err := need(r, roster.PermUsersView); err != nil {
		return err
	}
	f := parseUsersFilter(r.URL.Query())
	f.Cursor = ""
	uf, err := p.App.Users.Filter(r.Context(), f.query())
	if err != nil {
		return err
	}
	started := false
	err = p.App.Users.ExportCSV(r.Context(), uf, flushWriter{w}, func() {
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="users-`+p.Clock().UTC().Format("20060102")+`.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	})
	if err != nil && started {
		// Cut the transfer so that the browser reports a failed download
		// rather than keeping a short file.
		panic(http.ErrAbortHandler)
	}
	return err
}

// flushWriter sends what was written so far to the browser on Flush.
type flushWriter struct{ http.ResponseWriter }

func (w flushWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// ExportURL downloads the list as shown (filters and sort) as CSV.
func (v *usersView) ExportURL() string { return "/users/export.csv?" + v.Filter.Values().Encode() }

// maxImportUpload bounds a users file uploaded in the panel; larger files
// go through the API (POST /api/v1/users/import, 64 MiB).
const maxImportUpload = 8 << 20

// importView is the users import page: the upload form, the preview of a
// checked file (its errors, or what it would do, with the confirmation),
// and the result with the generated passwords, shown once.
type importView struct {
	*page
	Companies      []*roster.Company
	CompanyID      int64
	UpdateExisting bool
	// Checked is set once a file was checked: Errors, or Preview and CSV
	// (the file, carried to the confirmation).
	Checked bool
	Errors  []roster.FieldError
	Preview *app.ImportResult
	CSV     string
	// Result is the import done; PasswordsCSV the generated passwords as
	// a file to download, once.
	Result       *app.ImportResult
	PasswordsCSV string
}

// Message is a row error in the page's language: English as the workflow
// wrote it (it names values), Russian by its code.
func (v *importView) Message(f roster.FieldError) string {
	if v.Lang == i18n.EN {
		return f.Message
	}
	return fieldText(v.Lang, f)
}

func (p *Panel) importPage(w http.ResponseWriter, r *http.Request) (*importView, error) {
	if err := need(r, roster.PermUsersCreate); err != nil {
		return nil, err
	}
	a := state(r).actor
	v := &importView{page: p.newPage(w, r, "import.title", "users"), CompanyID: a.User.CompanyID}
	if a.Scope.All || len(a.Scope.CompanyIDs) > 1 {
		cs, err := p.Companies.Companies(r.Context(), a.Scope)
		if err != nil {
			return nil, err
		}
		if len(cs) > 1 {
			v.Companies = cs
		}
	}
	return v, nil
}

// handleUsersImportPage shows the upload form.
func (p *Panel) handleUsersImportPage(w http.ResponseWriter, r *http.Request) error {
	v, err := p.importPage(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "userimport", v)
}

// handleUsersImport checks an uploaded file (action "check": a dry run,
// then the preview) or imports a checked one (action "confirm").
func (p *Panel) handleUsersImport(w http.ResponseWriter, r *http.Request) error {
	v, err := p.importPage(w, r)
	if err != nil {
		return err
	}
	if id, ok := pathID(r.PostFormValue("company")); ok {
		v.CompanyID = id
	}
	v.UpdateExisting = r.PostFormValue("update_existing") == "1"
	confirm := r.PostFormValue("action") == "confirm"
	var data string
	if confirm {
		data = r.PostFormValue("csv")
	} else {
		f, _, err := r.FormFile("file")
		if err != nil {
			v.Checked, v.Errors = true, []roster.FieldError{{Field: "file", Code: "required", Message: "Choose a CSV file."}}
			return p.render(w, r, http.StatusUnprocessableEntity, "userimport", v)
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxImportUpload+1))
		if err != nil {
			return err
		}
		if len(b) > maxImportUpload {
			p.renderStatus(w, r, http.StatusRequestEntityTooLarge, "error.form_too_large")
			return nil
		}
		data = string(b)
	}
	opt := app.ImportOptions{CompanyID: v.CompanyID, DryRun: !confirm, UpdateExisting: v.UpdateExisting}
	res, err := p.App.Users.Import(r.Context(), opt, strings.NewReader(data))
	v.Checked = true
	var e *roster.Error
	if err != nil && asErr(err, &e) && e.Code == roster.EINVALID {
		v.Errors = e.Fields
		return p.render(w, r, http.StatusUnprocessableEntity, "userimport", v)
	}
	if err != nil {
		return err
	}
	if !confirm {
		v.Preview, v.CSV = res, data
		return p.render(w, r, http.StatusOK, "userimport", v)
	}
	v.Result = res
	if len(res.TemporaryPasswords) > 0 {
		var b strings.Builder
		cw := csv.NewWriter(&b)
		cw.Write([]string{"line", "email", "login", "password"})
		for _, tp := range res.TemporaryPasswords {
			cw.Write([]string{strconv.Itoa(tp.Line), app.SafeCell(tp.Email), tp.Login, tp.Password})
		}
		cw.Flush()
		v.PasswordsCSV = "\uFEFF" + b.String()
	}
	// The passwords are on this answer only.
	w.Header().Set("Cache-Control", "no-store")
	return p.render(w, r, http.StatusOK, "userimport", v)
}
