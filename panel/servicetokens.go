package panel

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/app"
)

// The company's service tokens (issue 10, item 1), under its settings: the
// list with each token's last use, a form to create one with the
// permissions the actor may give, the secret shown once, and revocation.
// Every handler calls one workflow of app.ServiceTokens.

func (p *Panel) serviceTokenRoutes(mux *http.ServeMux) {
	mux.Handle("GET /settings/service-tokens", p.auth(p.handleServiceTokens))
	mux.Handle("POST /settings/service-tokens", p.auth(p.handleServiceTokenCreate))
	mux.Handle("POST /settings/service-tokens/{id}/revoke", p.auth(p.handleServiceTokenRevoke))
}

// serviceTokenForm is the create form as typed.
type serviceTokenForm struct {
	Name        string
	Permissions []string
	// ExpiresOn is a date (YYYY-MM-DD): the token expires at its start, UTC.
	ExpiresOn   string
	IPAllowlist string
}

// Checked reports whether a permission is ticked.
func (f serviceTokenForm) Checked(p roster.Permission) bool {
	return slices.Contains(f.Permissions, string(p))
}

func readServiceTokenForm(r *http.Request) serviceTokenForm {
	return serviceTokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Permissions: r.PostForm["permissions"],
		ExpiresOn: strings.TrimSpace(r.PostFormValue("expires_on")), IPAllowlist: r.PostFormValue("ip_allowlist")}
}

// serviceTokensView is the page.
type serviceTokensView struct {
	*page
	Tokens []*roster.ServiceToken
	// Grantable are the permissions the actor may give a token.
	Grantable []roster.PermissionInfo
	Form      serviceTokenForm
	Errors    formErrors
	// Created is the token just made, with its secret: shown this once.
	Created *app.CreatedServiceToken
	Now     time.Time
}

func (p *Panel) serviceTokensView(w http.ResponseWriter, r *http.Request) (*serviceTokensView, error) {
	ts, err := p.App.ServiceTokens.List(r.Context(), 0)
	if err != nil {
		return nil, err
	}
	v := &serviceTokensView{page: p.newPage(w, r, "tokens.title", "service-tokens"), Tokens: ts, Now: time.Now()}
	a := roster.ActorFromContext(r.Context())
	for _, c := range roster.Catalog {
		if app.TokenMayHold(a, c.Key) {
			v.Grantable = append(v.Grantable, c)
		}
	}
	return v, nil
}

func (p *Panel) handleServiceTokens(w http.ResponseWriter, r *http.Request) error {
	v, err := p.serviceTokensView(w, r)
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "servicetokens", v)
}

// handleServiceTokenCreate makes a token and answers the page with its
// secret (not a redirect: the secret exists only in this answer).
func (p *Panel) handleServiceTokenCreate(w http.ResponseWriter, r *http.Request) error {
	form := readServiceTokenForm(r)
	n := app.NewServiceToken{Name: form.Name, Permissions: form.Permissions, IPAllowlist: strings.Split(form.IPAllowlist, "\n")}
	var dateErr error
	if form.ExpiresOn != "" {
		d, err := time.Parse("2006-01-02", form.ExpiresOn)
		if err != nil {
			var v roster.Validation
			v.Add("expires_at", "invalid_date", "Enter a date like 2027-01-31.")
			dateErr = v.Err()
		} else {
			n.ExpiresAt = &d
		}
	}
	var created *app.CreatedServiceToken
	err := dateErr
	if err == nil {
		created, err = p.App.ServiceTokens.Create(r.Context(), n)
	}
	if err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		v, verr := p.serviceTokensView(w, r)
		if verr != nil {
			return verr
		}
		v.Form, v.Errors = form, *fe
		return p.render(w, r, formStatus(err), "servicetokens", v)
	}
	v, err := p.serviceTokensView(w, r)
	if err != nil {
		return err
	}
	v.Created = created
	return p.render(w, r, http.StatusCreated, "servicetokens", v)
}

func (p *Panel) handleServiceTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Service token not found.")
	}
	if err := p.App.ServiceTokens.Revoke(r.Context(), id); err != nil {
		return err
	}
	return p.redirect(w, r, "/settings/service-tokens", "flash.token_revoked", 0)
}
