package panel

import (
	"net/http"

	"github.com/roster-app/roster"
)

type profileView struct {
	*page
	User        *roster.User
	Permissions []roster.Permission
	Errors      formErrors
	Open        string
	Form        map[string]string
	MinLength   int
}

func (p *Panel) profilePage(w http.ResponseWriter, r *http.Request) *profileView {
	a := state(r).actor
	u := a.User
	return &profileView{page: p.newPage(w, r, "profile.title", "profile"), User: u, Permissions: a.Permissions.Sorted(),
		Form:      map[string]string{"first_name": u.FirstName, "middle_name": u.MiddleName, "last_name": u.LastName},
		MinLength: p.settingsOf(r.Context(), u.CompanyID).PasswordMinLength}
}

func (p *Panel) handleProfile(w http.ResponseWriter, r *http.Request) error {
	return p.render(w, r, http.StatusOK, "profile", p.profilePage(w, r))
}

func (p *Panel) profileFail(w http.ResponseWriter, r *http.Request, err error, section string) error {
	return p.profileFailStatus(w, r, err, section, http.StatusUnprocessableEntity)
}

func (p *Panel) profileFailStatus(w http.ResponseWriter, r *http.Request, err error, section string, status int) error {
	a := state(r).actor
	fe, ok := passwordFormErrors(state(r).lang, err, p.settingsOf(r.Context(), a.User.CompanyID).PasswordMinLength)
	if !ok {
		return err
	}
	v := p.profilePage(w, r)
	v.Errors, v.Open = *fe, section
	for k := range v.Form {
		if val, ok := r.PostForm[k]; ok {
			v.Form[k] = val[0]
		}
	}
	return p.render(w, r, status, "profile", v)
}

func (p *Panel) handleProfileUpdate(w http.ResponseWriter, r *http.Request) error {
	a := state(r).actor
	first, middle, last := r.PostFormValue("first_name"), r.PostFormValue("middle_name"), r.PostFormValue("last_name")
	upd := roster.UserUpdate{FirstName: &first, MiddleName: &middle, LastName: &last}
	upd.Normalize()
	err := upd.Validate()
	if err == nil {
		_, err = p.Users.UpdateUser(r.Context(), a.Scope, a.User.ID, upd)
	}
	if err != nil {
		return p.profileFail(w, r, err, "name")
	}
	return p.redirect(w, r, "/profile", "flash.profile_saved", 0)
}

func (p *Panel) handleProfilePassword(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a := state(r).actor
	if a.Impersonator != nil {
		return roster.Errorf(roster.EFORBIDDEN, "You cannot change the password of an account you act as.")
	}
	current, pw := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	var val roster.Validation
	status, err := p.checkCurrentPassword(w, r, current, &val)
	if err != nil {
		return err
	}
	if status == http.StatusTooManyRequests {
		return p.profileFailStatus(w, r, val.Err(), "password", status)
	}
	roster.ValidatePassword(&val, "new_password", pw, a.User, p.settingsOf(ctx, a.User.CompanyID).PasswordMinLength)
	if pw != r.PostFormValue("confirm_password") && !val.Has("new_password") {
		val.Add("confirm_password", "password_mismatch", "The passwords do not match.")
	}
	if err := val.Err(); err != nil {
		return p.profileFail(w, r, err, "password")
	}
	hash, err := p.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	// ChangeOwnPassword ends the user's other sessions and keeps this one
	// (the session of the actor in ctx), as the API's password change does.
	if err := p.Users.ChangeOwnPassword(ctx, a.User.ID, hash); err != nil {
		return p.profileFail(w, r, err, "password")
	}
	return p.redirect(w, r, "/profile", "flash.password_changed", 0)
}

// checkCurrentPassword re-authenticates the signed-in user before a change
// of their password or second factor through roster.CheckPassword, the
// rate-limited path every password check takes. A wrong password adds
// wrong_password to val (status 422); while the account must wait it adds
// too_many_attempts, sets Retry-After and answers 429.
func (p *Panel) checkCurrentPassword(w http.ResponseWriter, r *http.Request, password string, val *roster.Validation) (int, error) {
	if p.Credentials == nil {
		return 0, roster.Errorf(roster.EINTERNAL, "credentials store missing")
	}
	res, err := roster.CheckPassword(r.Context(), p.Users, p.Credentials, p.Hasher, roster.PasswordCheck{
		User: state(r).actor.User, Password: password, Address: p.clientAddress(r), Unlock: p.unlockLink(r)})
	if err != nil {
		return 0, err
	}
	switch {
	case res.Refused.Wait > 0:
		setRetryAfter(w, res.Refused.Wait)
		val.Add("current_password", "too_many_attempts", "Too many wrong passwords. Wait a while, or unlock your account with a link sent to your e-mail.")
		return http.StatusTooManyRequests, nil
	case !res.OK():
		val.Add("current_password", "wrong_password", "The current password is wrong.")
		return http.StatusUnprocessableEntity, nil
	}
	return http.StatusOK, nil
}
