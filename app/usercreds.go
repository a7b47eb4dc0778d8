package app

import (
	"context"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/mail"
)

// The credential actions an administrator takes on another user's card
// (A2, A4, A5): reset or disable the second factor, lift a lock, end the
// sessions. All need users.credentials and none applies to oneself: one's
// own factors and sessions are changed on the profile's Security page.

// credsTarget loads another user in the actor's scope for a credential action.
func (s *Users) credsTarget(ctx context.Context) (*roster.Actor, func(id int64) (*roster.User, error), error) {
	a, err := actor(ctx, roster.PermUsersCredentials)
	if err != nil {
		return nil, nil, err
	}
	return a, func(id int64) (*roster.User, error) {
		if id == a.UserID() {
			return nil, errSelfCredentials
		}
		return s.app.d.Users.UserByID(ctx, a.Scope, id)
	}, nil
}

// ResetMFA switches a user to e-mail codes — their authenticator is lost,
// or they had no second factor and now get one — ends their sessions and
// tells them by e-mail (A2, "Reset 2FA to e-mail").
func (s *Users) ResetMFA(ctx context.Context, id int64) (*roster.User, error) {
	return s.setMFA(ctx, id, roster.MFAEmail, mail.KindMFAReset)
}

// DisableMFA turns a user's second factor off, ends their sessions and
// tells them by e-mail (A2, "Disable 2FA").
func (s *Users) DisableMFA(ctx context.Context, id int64) (*roster.User, error) {
	return s.setMFA(ctx, id, roster.MFANone, mail.KindMFADisabled)
}

func (s *Users) setMFA(ctx context.Context, id int64, method, kind string) (*roster.User, error) {
	a, target, err := s.credsTarget(ctx)
	if err != nil {
		return nil, err
	}
	u, err := target(id)
	if err != nil {
		return nil, err
	}
	if method == roster.MFAEmail && u.Email == "" {
		return nil, roster.Errorf(roster.ECONFLICT, "This user has no e-mail address to receive codes.")
	}
	var job *roster.Job
	if u.Email != "" {
		if job, err = s.app.MailJob(ctx, u, kind, mail.MFANotice{BaseURL: s.app.BaseURL(ctx), Name: u.DisplayName(),
			ChangedBy: a.Name()}); err != nil {
			return nil, err
		}
	}
	if u, err = s.app.d.Credentials.SetMFAMethod(ctx, a.Scope, u.ID, method, job); err != nil {
		return nil, err
	}
	if job != nil {
		s.app.JobsWritten()
	}
	return u, nil
}

// Unlock lifts a brute-force lock (A5).
func (s *Users) Unlock(ctx context.Context, id int64) (*roster.User, error) {
	a, err := actor(ctx, roster.PermUsersCredentials)
	if err != nil {
		return nil, err
	}
	return s.app.d.Credentials.UnlockUser(ctx, a.Scope, id)
}

// EndSessions signs a user out everywhere and reports how many sessions ended.
func (s *Users) EndSessions(ctx context.Context, id int64) (int, error) {
	a, target, err := s.credsTarget(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := target(id); err != nil {
		return 0, err
	}
	return s.app.d.Credentials.EndAllUserSessions(ctx, a.Scope, id)
}
