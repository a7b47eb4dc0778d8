package sqlstore_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
)

// TestAvatars: set, replace, read within scope only, versions, delete, and
// removal with the user.
func TestAvatars(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, c *sqlstoretest.Clock) {
		f := newFixture(t, s, c)
		ann := f.user(f.co.ID, "Ann", "Lee", roster.RoleEmployee)
		bob := f.user(f.co.ID, "Bob", "Ray", roster.RoleEmployee)
		other := f.company("Other", nil)
		own := roster.Scope{CompanyIDs: []int64{f.co.ID}}

		_, err := s.Avatar(f.ctx, own, ann.ID)
		wantCode(t, err, roster.ENOTFOUND)
		wantCode(t, s.SetAvatar(f.ctx, &roster.Avatar{UserID: ann.ID, ContentType: "image/gif", Data: []byte("x")}), roster.EINVALID)

		must(t, s.SetAvatar(f.ctx, &roster.Avatar{UserID: ann.ID, ContentType: "image/png", Data: []byte("first")}))
		v1, err := s.AvatarVersions(f.ctx, []int64{ann.ID, bob.ID})
		must(t, err)
		if len(v1) != 1 || v1[ann.ID] == 0 {
			t.Fatalf("versions %v", v1)
		}
		c.Advance(time.Minute)
		must(t, s.SetAvatar(f.ctx, &roster.Avatar{UserID: ann.ID, ContentType: "image/jpeg", Data: []byte("second")}))
		got, err := s.Avatar(f.ctx, own, ann.ID)
		must(t, err)
		if got.ContentType != "image/jpeg" || !bytes.Equal(got.Data, []byte("second")) || !got.UpdatedAt.Equal(c.Now()) {
			t.Fatalf("avatar %+v", got)
		}
		v2, err := s.AvatarVersions(f.ctx, []int64{ann.ID})
		must(t, err)
		if v2[ann.ID] <= v1[ann.ID] {
			t.Fatalf("version did not grow: %d then %d", v1[ann.ID], v2[ann.ID])
		}
		_, err = s.Avatar(f.ctx, roster.Scope{CompanyIDs: []int64{other.ID}}, ann.ID)
		wantCode(t, err, roster.ENOTFOUND)

		must(t, s.DeleteAvatar(f.ctx, ann.ID))
		must(t, s.DeleteAvatar(f.ctx, ann.ID))
		_, err = s.Avatar(f.ctx, own, ann.ID)
		wantCode(t, err, roster.ENOTFOUND)

		must(t, s.SetAvatar(f.ctx, &roster.Avatar{UserID: bob.ID, ContentType: "image/png", Data: []byte("b")}))
		must(t, s.DeleteUser(f.ctx, all, bob.ID))
		v3, err := s.AvatarVersions(f.ctx, []int64{bob.ID})
		must(t, err)
		if len(v3) != 0 {
			t.Fatalf("avatar outlived its user: %v", v3)
		}
	})
}
