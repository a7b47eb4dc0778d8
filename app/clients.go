package app

import (
	"context"

	"github.com/roster-app/roster"
)

// Clients are the workflows on the clients directory and client tags
// (SPEC R3, R4). Every read and write passes the actor's visibility to the
// store, which filters and masks in the query; a user who sees clients
// masked changes none of them: they cannot know what they would overwrite.
type Clients struct{ app *App }

// Visibility returns what of the clients directory the actor may see.
func (s *Clients) Visibility(ctx context.Context) (*roster.Visibility, error) {
	a, err := actor(ctx, roster.PermClientsView)
	if err != nil {
		return nil, err
	}
	if a.User == nil {
		// A service token sees every client, masked: it has no tags of
		// its own and changes nothing it cannot read.
		return &roster.Visibility{Mask: true}, nil
	}
	return s.app.d.Ops.Visibility(ctx, a.User.ID)
}

// CanWrite reports whether a user seeing clients through vis may change them.
func CanWrite(vis *roster.Visibility) bool { return !vis.Mask }

// writer returns the actor and their visibility when they may change clients.
func (s *Clients) writer(ctx context.Context) (*roster.Actor, *roster.Visibility, error) {
	vis, err := s.Visibility(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !CanWrite(vis) {
		return nil, nil, roster.Errorf(roster.EFORBIDDEN, "You see client data masked, so you cannot change clients.")
	}
	return roster.ActorFromContext(ctx), vis, nil
}

// List returns one page of the clients of the actor's company they may see.
func (s *Clients) List(ctx context.Context, f roster.ClientFilter) (*roster.ClientPage, error) {
	vis, err := s.Visibility(ctx)
	if err != nil {
		return nil, err
	}
	return s.app.d.Clients.Clients(ctx, roster.ActorFromContext(ctx).Company.ID, vis, f)
}

// Get returns a client in scope the actor may see.
func (s *Clients) Get(ctx context.Context, id int64) (*roster.Client, error) {
	vis, err := s.Visibility(ctx)
	if err != nil {
		return nil, err
	}
	return s.app.d.Clients.ClientByID(ctx, roster.ActorFromContext(ctx).Scope, vis, id)
}

// Create adds a client to the actor's company; every field is checked at
// once, the tags against the company's tags.
func (s *Clients) Create(ctx context.Context, in roster.ClientInput) (*roster.Client, error) {
	a, _, err := s.writer(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, a.Company.ID, &in, true); err != nil {
		return nil, err
	}
	return s.app.d.Clients.CreateClient(ctx, a.Company.ID, in)
}

// Update changes the given fields of a client the actor may see.
func (s *Clients) Update(ctx context.Context, id int64, in roster.ClientInput) (*roster.Client, error) {
	a, vis, err := s.writer(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.app.d.Clients.ClientByID(ctx, a.Scope, vis, id)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, c.CompanyID, &in, false); err != nil {
		return nil, err
	}
	return s.app.d.Clients.UpdateClient(ctx, a.Scope, vis, id, in)
}

// check normalizes and checks a client's fields and its tags.
func (s *Clients) check(ctx context.Context, companyID int64, in *roster.ClientInput, create bool) error {
	verr := in.Validate(create)
	var v roster.Validation
	if in.TagIDs != nil && len(*in.TagIDs) > 0 {
		tags, err := s.app.d.Clients.ClientTags(ctx, companyID)
		if err != nil {
			return err
		}
		known := map[int64]bool{}
		for _, t := range tags {
			known[t.ID] = true
		}
		for _, id := range *in.TagIDs {
			if !known[id] {
				v.Add("tags", "unknown_tag", "Unknown client tag.")
				break
			}
		}
	}
	return merge(verr, v.Err())
}

// Delete deletes a client the actor may see.
func (s *Clients) Delete(ctx context.Context, id int64) error {
	a, vis, err := s.writer(ctx)
	if err != nil {
		return err
	}
	return s.app.d.Clients.DeleteClient(ctx, a.Scope, vis, id)
}

// CanManageTags reports whether a may add, rename and delete client tags.
func CanManageTags(a *roster.Actor) bool { return a.Can(roster.PermTagsManage) }

// Tags lists the client tags of a company in scope (0: the actor's own),
// with their clients' numbers.
func (s *Clients) Tags(ctx context.Context, companyID int64) ([]*roster.ClientTag, error) {
	a, err := actor(ctx, "")
	if err != nil {
		return nil, err
	}
	if !a.Can(roster.PermClientsView) && !CanManageTags(a) {
		return nil, forbidden(roster.PermClientsView, roster.PermTagsManage)
	}
	if err := s.app.companyIn(ctx, a, &companyID); err != nil {
		return nil, err
	}
	return s.app.d.Clients.ClientTags(ctx, companyID)
}

// checkTagName trims and checks a client tag's name.
func checkTagName(name *string) error {
	var v roster.Validation
	roster.ValidateWorkGroupName(&v, "name", name)
	return v.Err()
}

// CreateTag adds a client tag to a company in scope (0: the actor's own);
// names are unique in a company regardless of case.
func (s *Clients) CreateTag(ctx context.Context, companyID int64, name string) (*roster.ClientTag, error) {
	a, err := actor(ctx, roster.PermTagsManage)
	if err != nil {
		return nil, err
	}
	cerr := s.app.companyIn(ctx, a, &companyID)
	if err := merge(cerr, checkTagName(&name)); err != nil {
		return nil, err
	}
	t := &roster.ClientTag{CompanyID: companyID, Name: name}
	if err := s.app.d.Clients.CreateClientTag(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// RenameTag renames a client tag in scope.
func (s *Clients) RenameTag(ctx context.Context, id int64, name string) (*roster.ClientTag, error) {
	a, err := actor(ctx, roster.PermTagsManage)
	if err != nil {
		return nil, err
	}
	if _, err := s.app.d.Clients.ClientTagByID(ctx, a.Scope, id); err != nil {
		return nil, err
	}
	if err := checkTagName(&name); err != nil {
		return nil, err
	}
	return s.app.d.Clients.RenameClientTag(ctx, a.Scope, id, name)
}

// DeleteTag deletes a client tag in scope; clients and users lose it.
func (s *Clients) DeleteTag(ctx context.Context, id int64) error {
	a, err := actor(ctx, roster.PermTagsManage)
	if err != nil {
		return err
	}
	return s.app.d.Clients.DeleteClientTag(ctx, a.Scope, id)
}
