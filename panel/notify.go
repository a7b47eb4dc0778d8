package panel

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/roster-app/roster"
)

// This file serves event notifications as seed 003 has them: the Main
// administrator's System > Event notifications page (which event types
// exist for notification) and the Notifications panel of a user's card,
// where an administrator sets the user's Telegram chat ID, Slack channel
// ID and events. The rules are app.Notifications'; the pages read forms
// and show answers.

// notifyForm is the channels and the event matrix of a user's settings,
// shown on the profile's Notifications page and on a user's card.
type notifyForm struct {
	*page
	Prefs    *roster.NotificationPrefs
	Catalog  []roster.NotificationEventInfo
	Channels []string
	On       map[string]bool // "event_type/channel"
	// Allowed says whether the user may subscribe (their roles).
	Allowed bool
	// Email is where e-mail notifications go.
	Email  string
	Errors formErrors
	// ID prefixes the fields' ids, so that two forms never share one.
	ID string
}

// Checked reports whether a cell of the matrix is on.
func (f *notifyForm) Checked(eventType, channel string) bool {
	return f.On[eventType+"/"+channel]
}

func newNotifyForm(pg *page, prefs *roster.NotificationPrefs, catalog []roster.NotificationEventInfo, allowed bool, email, id string) *notifyForm {
	f := &notifyForm{page: pg, Prefs: prefs, Catalog: catalog, Channels: roster.Channels, On: map[string]bool{},
		Allowed: allowed, Email: email, ID: id}
	for _, s := range prefs.Subscriptions {
		for _, c := range s.Channels {
			f.On[s.EventType+"/"+c] = true
		}
	}
	return f
}

// readNotifyForm reads the settings a notification form sent: the
// channels' targets and the ticked cells, in catalog order.
func readNotifyForm(r *http.Request) roster.NotificationPrefs {
	prefs := roster.NotificationPrefs{TelegramChatID: r.PostFormValue("telegram_chat_id"),
		SlackChannelID: r.PostFormValue("slack_channel_id"), Subscriptions: []roster.Subscription{}}
	for _, e := range roster.NotificationCatalog {
		var chans []string
		for _, c := range roster.Channels {
			if slices.Contains(r.PostForm["sub"], e.Type+"/"+c) {
				chans = append(chans, c)
			}
		}
		if len(chans) > 0 {
			prefs.Subscriptions = append(prefs.Subscriptions, roster.Subscription{EventType: e.Type, Channels: chans})
		}
	}
	return prefs
}

// ---- A user's card: their notifications (seed 003) ----

// cardNotifications fills the card's Notifications panel when the actor
// may edit the user's settings; prefs, when given, are what a refused form
// sent, shown again.
func (p *Panel) cardNotifications(r *http.Request, v *userView, prefs *roster.NotificationPrefs) error {
	a := state(r).actor
	if !a.Can(roster.PermUsersEdit) || !manages(a, v.User) {
		return nil
	}
	un, err := p.App.Notifications.ForUserCard(r.Context(), v.User.ID)
	if roster.ErrorCode(err) == roster.EFORBIDDEN {
		return nil // the user holds permissions the actor lacks
	} else if err != nil {
		return err
	}
	catalog, err := p.App.Notifications.Catalog(r.Context())
	if err != nil {
		return err
	}
	if prefs == nil {
		prefs = un.Prefs
	}
	v.Notify = newNotifyForm(v.page, prefs, catalog, un.MaySubscribe, v.User.Email, "un")
	return nil
}

func (p *Panel) handleUserNotifications(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "User not found.")
	}
	prefs := readNotifyForm(r)
	if _, err := p.App.Notifications.SetForUser(r.Context(), id, prefs); err != nil {
		st := state(r)
		fe, ok := newFormErrors(st.lang, err)
		if !ok {
			return err
		}
		return p.cardRefused(w, r, id, err, "notifications", func(v *userView) error {
			if err := p.cardNotifications(r, v, &prefs); err != nil {
				return err
			}
			if v.Notify != nil {
				v.Notify.Errors = *fe
			}
			return nil
		})
	}
	return p.redirect(w, r, "/users/"+strconv.FormatInt(id, 10)+"", "flash.user_notifications_saved", 0)
}

// ---- System > Event notifications (seed 003) ----

// eventTypeGroup is one group of the catalog on the page.
type eventTypeGroup struct {
	Key   string
	Types []roster.NotificationEventType
}

// eventTypeGroups says which group each catalog type is shown in; a type
// not listed falls in "other".
var eventTypeGroups = []struct {
	key   string
	types []string
}{
	{"accounts", []string{roster.EventUserCreated, roster.EventUserBlocked, roster.EventUserUnblocked, roster.EventUserDeleted,
		roster.EventUserRolesChanged, roster.EventUserDormantWarned}},
	{"security", []string{roster.EventMFADisabled, roster.EventMFAReset, roster.EventUserLocked, roster.EventUserAddressLocked,
		roster.EventUserUnlocked}},
	{"signin", []string{roster.EventSignInFailed, roster.EventSignInRefusedByAddr}},
}

func groupEventTypes(types []roster.NotificationEventType) []eventTypeGroup {
	var out []eventTypeGroup
	placed := map[string]bool{}
	for _, g := range eventTypeGroups {
		grp := eventTypeGroup{Key: g.key}
		for _, t := range types {
			if slices.Contains(g.types, t.Type) {
				grp.Types = append(grp.Types, t)
				placed[t.Type] = true
			}
		}
		if len(grp.Types) > 0 {
			out = append(out, grp)
		}
	}
	other := eventTypeGroup{Key: "other"}
	for _, t := range types {
		if !placed[t.Type] {
			other.Types = append(other.Types, t)
		}
	}
	if len(other.Types) > 0 {
		out = append(out, other)
	}
	return out
}

type eventTypesView struct {
	*page
	Groups []eventTypeGroup
	Errors formErrors
}

// needMainAdmin refuses everyone but the Main administrator.
func needMainAdmin(r *http.Request) error {
	if a := state(r).actor; a == nil || !a.MainAdmin {
		return roster.Errorf(roster.EFORBIDDEN, "Only the Main administrator chooses the event types of notifications.")
	}
	return nil
}

func (p *Panel) handleEventTypes(w http.ResponseWriter, r *http.Request) error {
	if err := needMainAdmin(r); err != nil {
		return err
	}
	types, err := p.App.Notifications.EventTypes(r.Context())
	if err != nil {
		return err
	}
	v := &eventTypesView{page: p.newPage(w, r, "system.event_types.title", "system"), Groups: groupEventTypes(types)}
	return p.render(w, r, http.StatusOK, "eventtypes", v)
}

func (p *Panel) handleEventTypesUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := needMainAdmin(r); err != nil {
		return err
	}
	enabled := []string{}
	for _, c := range roster.NotificationCatalog {
		if slices.Contains(r.PostForm["enabled"], c.Type) {
			enabled = append(enabled, c.Type)
		}
	}
	if _, err := p.App.Notifications.SetEventTypes(r.Context(), enabled); err != nil {
		fe, ok := newFormErrors(state(r).lang, err)
		if !ok {
			return err
		}
		types, terr := p.App.Notifications.EventTypes(r.Context())
		if terr != nil {
			return terr
		}
		v := &eventTypesView{page: p.newPage(w, r, "system.event_types.title", "system"), Groups: groupEventTypes(types), Errors: *fe}
		return p.render(w, r, formStatus(err), "eventtypes", v)
	}
	return p.redirect(w, r, "/system/event-notifications", "flash.event_types_saved", 0)
}
