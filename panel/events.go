package panel

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/roster-app/roster"
)

type eventsView struct {
	*page
	User, Type, From, To string
	// Person is the text typed into the person filter; UserName the name
	// of the person the log is filtered by.
	Person   string
	UserName string
	// Candidates are the people matching Person when it names more than
	// one; NoMatch says it names no one.
	Candidates []*roster.User
	NoMatch    bool
	// All shows the high-volume events (calls, dialogues) too.
	All        bool
	HighVolume bool
	Types      []string
	Result     *roster.EventPage
	NextURL    string
	FirstURL   string
	IsFirst    bool
	Errors     formErrors
}

// Detail is what an event's type alone does not say: the group a person
// was added to or removed from.
func (v *eventsView) Detail(e *roster.Event) string {
	switch e.Type {
	case roster.EventWorkGroupMemberAdded, roster.EventWorkGroupMemberRemoved:
		kind, _ := e.After["kind"].(string)
		name, _ := e.After["group"].(string)
		if name == "" {
			return ""
		}
		label := kind
		if roster.ValidWorkGroupKind(kind) {
			label = v.T("ops." + kind + ".kind")
		}
		return v.T("events.group_detail", label, name)
	}
	return ""
}

// IsHighVolume reports whether an event type is hidden unless asked.
func (v *eventsView) IsHighVolume(t string) bool {
	return slices.Contains(roster.HighVolumeEventTypes, t)
}

// change is one field of an event's before/after.
type change struct{ Field, Before, After string }

// Changes lists an event's changed fields in name order.
func (v *eventsView) Changes(e *roster.Event) []change {
	keys := map[string]bool{}
	for k := range e.Before {
		keys[k] = true
	}
	for k := range e.After {
		keys[k] = true
	}
	var out []change
	for k := range keys {
		out = append(out, change{Field: k, Before: showValue(e.Before[k]), After: showValue(e.After[k])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// eventsView is the event log for the filter in q. A filter field the log
// cannot use (a hand-edited address, a stale cursor) is dropped rather
// than refused, so the log always shows.
func (p *Panel) eventsView(w http.ResponseWriter, r *http.Request, q url.Values) (*eventsView, error) {
	ctx := r.Context()
	a := state(r).actor
	v := &eventsView{page: p.newPage(w, r, "events.title", "events"), User: strings.TrimSpace(q.Get("user")),
		Person: strings.TrimSpace(q.Get("person")), Type: q.Get("type"), From: q.Get("from"), To: q.Get("to"),
		All: q.Get("all") != "", Types: roster.EventTypes}
	f := roster.EventFilter{Limit: 50, Cursor: q.Get("cursor"), Type: v.Type}
	if !v.All && !slices.Contains(roster.HighVolumeEventTypes, v.Type) {
		f.ExcludeTypes = roster.HighVolumeEventTypes
	}
	if id, ok := pathID(v.User); ok {
		if u, err := p.Users.UserByID(ctx, a.Scope, id); err == nil && (v.Person == "" || v.Person == u.DisplayName()) {
			f.UserID = &id
			v.UserName, v.Person = u.DisplayName(), u.DisplayName()
		} else if v.Person == "" {
			// A user no longer here (or out of scope): their events by ID.
			f.UserID = &id
		}
	}
	if f.UserID == nil {
		v.User = ""
		if v.Person != "" {
			u, err := p.findPerson(r, v)
			if err != nil {
				return nil, err
			}
			if u == nil {
				// Several people or no one: the log waits for a choice.
				v.Result, v.IsFirst = &roster.EventPage{Items: []*roster.Event{}}, true
				v.FirstURL = "/events"
				return v, nil
			}
			f.UserID, v.User, v.UserName, v.Person = &u.ID, strconv.FormatInt(u.ID, 10), u.DisplayName(), u.DisplayName()
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", v.From, time.Local); err == nil {
		f.Since = &t
	}
	if t, err := time.ParseInLocation("2006-01-02", v.To, time.Local); err == nil {
		end := t.AddDate(0, 0, 1)
		f.Until = &end
	}
	res, err := p.App.Events.List(ctx, f)
	for range 2 {
		var e *roster.Error
		if !asErr(err, &e) || e.Code != roster.EINVALID {
			break
		}
		if len(e.Fields) == 0 && f.Cursor != "" {
			// A stale or tampered cursor: show the first page.
			f.Cursor = ""
		}
		for _, fe := range e.Fields {
			switch fe.Field {
			case "type":
				f.Type = ""
			case "since", "until":
				f.Since, f.Until, v.From, v.To = nil, nil, "", ""
			case "cursor":
				f.Cursor = ""
			}
		}
		res, err = p.App.Events.List(ctx, f)
	}
	if err != nil {
		return nil, err
	}
	v.Result, v.Type, v.IsFirst = res, f.Type, f.Cursor == ""
	v.HighVolume = len(f.ExcludeTypes) > 0
	all := ""
	if v.All {
		all = "1"
	}
	vals := url.Values{}
	for k, s := range map[string]string{"user": v.User, "type": f.Type, "from": v.From, "to": v.To, "all": all} {
		if s != "" {
			vals.Set(k, s)
		}
	}
	v.FirstURL = "/events?" + vals.Encode()
	if res.NextCursor != "" {
		vals.Set("cursor", res.NextCursor)
		v.NextURL = "/events?" + vals.Encode()
	}
	return v, nil
}

// findPerson finds the one person whose name, e-mail, login or phone
// matches v.Person, with the users list's search; when that is not one
// person it sets v.Candidates or v.NoMatch and returns nil.
func (p *Panel) findPerson(r *http.Request, v *eventsView) (*roster.User, error) {
	res, err := p.App.Users.List(r.Context(), roster.UserFilter{Query: v.Person, Limit: 10})
	if roster.ErrorCode(err) == roster.EFORBIDDEN || roster.ErrorCode(err) == roster.EINVALID {
		v.NoMatch = true
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	switch {
	case len(res.Items) == 0:
		v.NoMatch = true
	case len(res.Items) == 1 && r.URL.Query().Get("fragment") == "":
		return res.Items[0], nil
	default:
		v.Candidates = res.Items
	}
	return nil, nil
}

// PersonURL is the log filtered by one of the candidates, other filters kept.
func (v *eventsView) PersonURL(u *roster.User) string {
	q := url.Values{"user": {strconv.FormatInt(u.ID, 10)}}
	for k, s := range map[string]string{"type": v.Type, "from": v.From, "to": v.To} {
		if s != "" {
			q.Set(k, s)
		}
	}
	if v.All {
		q.Set("all", "1")
	}
	return "/events?" + q.Encode()
}

func (p *Panel) handleEvents(w http.ResponseWriter, r *http.Request) error {
	v, err := p.eventsView(w, r, r.URL.Query())
	if err != nil {
		return err
	}
	return p.render(w, r, http.StatusOK, "events", v)
}

// handleEventComment adds a comment to an event and returns to the log; a
// comment that cannot be added shows the log again with the reason.
func (p *Panel) handleEventComment(w http.ResponseWriter, r *http.Request) error {
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		return roster.Errorf(roster.ENOTFOUND, "Event not found.")
	}
	back := localPath(r.PostFormValue("return"), "/events")
	_, err := p.App.Events.Comment(r.Context(), id, r.PostFormValue("body"))
	if err == nil {
		return p.redirect(w, r, back, "flash.comment_added", 0)
	}
	fe, ok := newFormErrors(state(r).lang, err)
	if !ok {
		return err
	}
	u, _ := url.Parse(back)
	q := url.Values{}
	if u != nil && u.Path == "/events" {
		q = u.Query()
	}
	v, verr := p.eventsView(w, r, q)
	if verr != nil {
		return verr
	}
	v.Return, v.Errors = back, *fe
	return p.render(w, r, formStatus(err), "events", v)
}
