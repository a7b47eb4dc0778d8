package web

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/secure"
)

// NewBootstrapLink creates a one-time token for creating the Main
// administrator from the browser, stores its hash, and returns the link
// baseURL + "/setup?token=…". A new link replaces any earlier one.
func NewBootstrapLink(ctx context.Context, platform roster.PlatformService, baseURL string) (string, error) {
	token, hash := secure.NewToken()
	if err := platform.SetBootstrapToken(ctx, hash); err != nil {
		return "", err
	}
	return strings.TrimRight(baseURL, "/") + "/setup?token=" + url.QueryEscape(token), nil
}

// setupView is the data of the bootstrap page.
type setupView struct {
	Token     string
	Email     string
	FirstName string
	LastName  string
	Errors    map[string]string
	Done      bool
	Missing   bool
	Lang      string
}

// setupTexts are the setup page's texts in English and Russian, chosen
// by the browser's Accept-Language.
var setupTexts = map[string]map[string]string{
	"en": {
		"title": "Roster setup", "missing_h": "This setup link is not valid",
		"missing":        "The link is wrong or has been used already. Restart roster serve on an installation without a Main administrator to print a new one, or run roster admin create.",
		"missing_signin": "If the Main administrator exists already, sign in.",
		"done_h":         "Main administrator created", "done": "%s can now sign in. This link no longer works.",
		"next":   "Next: sign in, create the first company (its default roles come with it), then add people to it.",
		"signin": "Sign in", "form_h": "Create the Main administrator",
		"lead": "The Main administrator operates the whole Roster installation.", "email": "E-mail",
		"password": "Password (at least 12 characters)", "first_name": "First name", "last_name": "Last name",
		"create": "Create", "have_account": "Already set up?",
	},
	"ru": {
		"title": "Настройка Roster", "missing_h": "Эта ссылка настройки недействительна",
		"missing":        "Ссылка неверна или уже использована. Перезапустите roster serve на установке без главного администратора, чтобы получить новую, или выполните roster admin create.",
		"missing_signin": "Если главный администратор уже создан, войдите.",
		"done_h":         "Главный администратор создан", "done": "%s может войти. Эта ссылка больше не работает.",
		"next":   "Дальше: войдите, создайте первую компанию (её стандартные роли появятся вместе с ней) и добавьте в неё пользователей.",
		"signin": "Войти", "form_h": "Создание главного администратора",
		"lead": "Главный администратор управляет всей установкой Roster.", "email": "Эл. почта",
		"password": "Пароль (не короче 12 символов)", "first_name": "Имя", "last_name": "Фамилия",
		"create": "Создать", "have_account": "Уже настроено?",
	},
}

// setupLang picks the setup page's language from Accept-Language: the
// first of en or ru the browser names, else English.
func setupLang(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case tag == "ru" || strings.HasPrefix(tag, "ru-"):
			return "ru"
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			return "en"
		}
	}
	return "en"
}

// setupPage is the bootstrap page; it links to the panel's sign-in.
var setupPage = template.Must(template.New("setup").Funcs(template.FuncMap{
	"t": func(lang, key string) string { return setupTexts[lang][key] },
}).Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{t .Lang "title"}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin-top:1rem}input{width:100%;padding:.4rem;box-sizing:border-box}
.err{color:#b00020;font-size:.9rem}button{margin-top:1.5rem;padding:.5rem 1rem}</style></head><body>
{{if .Missing}}<h1>{{t .Lang "missing_h"}}</h1>
<p>{{t .Lang "missing"}}</p>
<p>{{t .Lang "missing_signin"}} <a href="/signin">{{t .Lang "signin"}}</a></p>
{{else if .Done}}<h1>{{t .Lang "done_h"}}</h1>
<p>{{printf (t .Lang "done") .Email}}</p>
<p>{{t .Lang "next"}}</p>
<p><a href="/signin" id="signin-link">{{t .Lang "signin"}}</a></p>
{{else}}<h1>{{t .Lang "form_h"}}</h1>
<p>{{t .Lang "lead"}}</p>
<form method="post" action="/setup">
<input type="hidden" name="token" value="{{.Token}}">
{{with .Errors.form}}<p class="err">{{.}}</p>{{end}}
<label>{{t .Lang "email"}} <input type="email" name="email" value="{{.Email}}" required autocomplete="username"></label>
{{with .Errors.email}}<p class="err">{{.}}</p>{{end}}
<label>{{t .Lang "password"}} <input type="password" name="password" required minlength="12" autocomplete="new-password"></label>
{{with .Errors.password}}<p class="err">{{.}}</p>{{end}}
<label>{{t .Lang "first_name"}} <input name="first_name" value="{{.FirstName}}"></label>
{{with .Errors.first_name}}<p class="err">{{.}}</p>{{end}}
<label>{{t .Lang "last_name"}} <input name="last_name" value="{{.LastName}}"></label>
{{with .Errors.last_name}}<p class="err">{{.}}</p>{{end}}
<button type="submit">{{t .Lang "create"}}</button>
</form>
<p>{{t .Lang "have_account"}} <a href="/signin">{{t .Lang "signin"}}</a></p>{{end}}
</body></html>`))

// renderSetup renders the page into a buffer first, so a template error is
// a clean 500.
func renderSetup(w http.ResponseWriter, r *http.Request, status int, v setupView) error {
	v.Lang = setupLang(r)
	var buf bytes.Buffer
	if err := setupPage.Execute(&buf, v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// handleSetupForm shows the bootstrap form. The store can only consume a
// bootstrap token, not peek at it, so the form is shown for any well-formed
// token while no Main administrator exists; a wrong token is refused on submit.
func (s *Server) handleSetupForm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	has, err := s.Platform.HasMainAdmin(r.Context())
	if err != nil {
		return err
	}
	if has || !secure.ValidTokenFormat(token) {
		return renderSetup(w, r, http.StatusNotFound, setupView{Missing: true})
	}
	return renderSetup(w, r, http.StatusOK, setupView{Token: token})
}

// handleSetupSubmit creates the Main administrator and consumes the token.
func (s *Server) handleSetupSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return &httpError{http.StatusBadRequest, "bad_form", "The form could not be read."}
	}
	view := setupView{
		Token: r.PostForm.Get("token"), Email: roster.NormalizeEmail(r.PostForm.Get("email")),
		FirstName: strings.TrimSpace(r.PostForm.Get("first_name")), LastName: strings.TrimSpace(r.PostForm.Get("last_name")),
	}
	if !secure.ValidTokenFormat(view.Token) {
		return renderSetup(w, r, http.StatusNotFound, setupView{Missing: true})
	}
	u := &roster.User{CompanyID: roster.PlatformCompanyID, AuthMethod: roster.AuthEmail, Email: view.Email,
		FirstName: view.FirstName, LastName: view.LastName, Status: roster.StatusActive, NameSetBySelf: true}
	if u.FirstName == "" {
		u.FirstName = "Main"
	}
	if u.LastName == "" {
		u.LastName = "Administrator"
	}
	password := r.PostForm.Get("password")
	var v roster.Validation
	checkFormText(&v, r.PostForm)
	roster.ValidateEmail(&v, "email", u.Email)
	roster.ValidatePassword(&v, "password", password, u, roster.DefaultPasswordMinLength)
	roster.ValidateName(&v, "first_name", u.FirstName)
	roster.ValidateName(&v, "last_name", u.LastName)
	if len(v.Fields) > 0 {
		view.Errors = map[string]string{}
		for _, f := range v.Fields {
			view.Errors[f.Field] = f.Message
		}
		return renderSetup(w, r, http.StatusUnprocessableEntity, view)
	}
	hash, err := s.Hasher.Hash(r.Context(), password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	if err := s.Platform.UseBootstrapToken(r.Context(), secure.HashToken(view.Token), u); err != nil {
		switch roster.ErrorCode(err) {
		case roster.ENOTFOUND:
			return renderSetup(w, r, http.StatusNotFound, setupView{Missing: true})
		case roster.ECONFLICT, roster.EINVALID:
			view.Errors = map[string]string{"form": roster.ErrorMessage(err)}
			return renderSetup(w, r, statusByCode[roster.ErrorCode(err)], view)
		}
		return err
	}
	return renderSetup(w, r, http.StatusCreated, setupView{Done: true, Email: u.Email})
}
