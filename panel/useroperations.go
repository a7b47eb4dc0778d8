package panel

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-app/roster"
)

// The operations parts of the users list and the user card: queues,
// presence, calls handled, and a user's operator settings (U5, U13, R4).

// usersOps is what the users list adds for operations: the queues to
// filter by and whether the company shows calls handled.
type usersOps struct {
	Queues    []*roster.WorkGroup
	CallStats bool
}

// QueueNone is the queue filter's value for "in no queue".
func (usersOps) QueueNone() string { return roster.QueueNone }

func (p *Panel) usersOps(ctx context.Context, a *roster.Actor) (*usersOps, error) {
	o := &usersOps{}
	if a.Can(roster.PermUsersView) || a.Can(roster.PermQueuesManage) {
		qs, err := p.ops().WorkGroups(ctx, a.Scope, a.Company.ID, roster.KindQueue)
		if err != nil {
			return nil, err
		}
		o.Queues = qs
	}
	co, err := p.ops().CompanyOperations(ctx, a.Scope, a.Company.ID)
	if err != nil {
		return nil, err
	}
	o.CallStats = co.CallStatistics
	return o, nil
}

// userOps is the operations part of the user card.
type userOps struct {
	Tags      []*roster.ClientTag
	TagOn     map[int64]bool
	CanEdit   bool
	CallStats bool
}

// userOps fills the card's operations part and the form's operations fields.
func (p *Panel) userOps(ctx context.Context, a *roster.Actor, v *userView) error {
	u := v.User
	o := &userOps{TagOn: map[int64]bool{}}
	manage := !v.Self && !(u.HasRole(roster.RoleMainAdmin) && !a.MainAdmin)
	o.CanEdit = a.Can(roster.PermUsersEdit) && manage
	co, err := p.ops().CompanyOperations(ctx, a.Scope, u.CompanyID)
	if err != nil {
		return err
	}
	o.CallStats = co.CallStatistics
	if o.Tags, err = p.clientStore().ClientTags(ctx, u.CompanyID); err != nil {
		return err
	}
	for _, id := range u.ClientTagIDs {
		o.TagOn[id] = true
	}
	v.Ops = o
	v.Form["max_dialogues"] = strconv.Itoa(u.MaxDialogues)
	v.Form["countries_mode"] = u.CountriesRule.Mode
	v.Form["countries"] = strings.Join(u.CountriesRule.Countries, ", ")
	return nil
}

// TagNames are the names of the user's allowed client tags.
func (o *userOps) TagNames() []string {
	var out []string
	for _, t := range o.Tags {
		if o.TagOn[t.ID] {
			out = append(out, t.Name)
		}
	}
	return out
}

// splitCountries reads "DE, fr  PL" as a list of codes.
func splitCountries(s string) []string {
	out := []string{}
	for _, c := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		out = append(out, c)
	}
	return out
}

// handleUserOperations saves a user's operator settings: maximum of
// dialogues, allowed client tags, countries rule and masking.
func (p *Panel) handleUserOperations(w http.ResponseWriter, r *http.Request) error {
	return p.userAction(w, r, roster.PermUsersEdit, "operations", "flash.user_operations_saved", func(ctx context.Context, a *roster.Actor, id int64) error {
		var v roster.Validation
		max, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("max_dialogues")))
		if err != nil {
			v.Add("max_dialogues", "out_of_range", "The maximum of dialogues is 0 to 10000.")
		}
		tags := formIDs(r.PostForm["client_tags"])
		if tags == nil {
			tags = []int64{}
		}
		rule := &roster.CountriesRule{Mode: r.PostFormValue("countries_mode"), Countries: splitCountries(r.PostFormValue("countries"))}
		if rule.Mode == "" {
			rule.Countries = []string{}
		}
		mask := r.PostFormValue("mask_data") == "1"
		upd := roster.OperatorUpdate{MaxDialogues: &max, ClientTagIDs: &tags, CountriesRule: rule, MaskData: &mask}
		if err := upd.Validate(); err != nil {
			var e *roster.Error
			if asErr(err, &e) {
				for _, f := range e.Fields {
					if f.Field == "countries_rule" {
						f.Field = "countries"
					}
					if !v.Has(f.Field) {
						v.Add(f.Field, f.Code, f.Message)
					}
				}
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		_, err = p.App.Users.Update(ctx, id, roster.UserUpdate{Operator: &upd})
		return err
	})
}

// isQueueID reports whether s is a well-formed queue ID; garbage in the
// query string is ignored rather than refused.
func isQueueID(s string) bool {
	_, ok := pathID(s)
	return ok && !strings.HasPrefix(s, "0") && !strings.HasPrefix(s, "+")
}
