package roster

import (
	"context"
	"time"
)

// Dormant accounts (issue 10, item 6): a company with dormant_block_days
// set blocks active accounts nobody signed in to for that many days — the
// time since the last sign-in or, for one who never signed in, since the
// account was created. The owner of an account with an e-mail address is
// warned once, DormantWarningDays before; the block waits until a week
// after the warning, so a company that turns the setting on blocks
// nobody without warning them first. An account without an e-mail address
// cannot be warned and is blocked when its time comes. A sign-in makes a
// past warning stale.

// DormantJobKind is the job that warns and blocks the dormant accounts of
// every company that has the setting on. It is kept in the jobs table
// like any other job: the server enqueues one every hour unless one is
// pending already, and whichever instance's worker claims it runs it.
const DormantJobKind = "users.dormant"

// EventUserDormantWarned: a dormant account's owner was e-mailed that it
// will be blocked.
const EventUserDormantWarned = "user.dormant_warned"

func init() { EventTypes = append(EventTypes, EventUserDormantWarned) }

// DormantUser is an account due for a warning, with what the warning says.
type DormantUser struct {
	User *User
	// IdleSince is the last sign-in, or the creation if never signed in.
	IdleSince time.Time
}

// DormantService stores what the dormant-account job reads and writes.
type DormantService interface {
	// DormantCompanies lists the settings of the companies whose
	// DormantBlockDays is on.
	DormantCompanies(ctx context.Context) ([]*CompanySettings, error)
	// DormantToWarn returns up to limit active users of a company with an
	// e-mail address, idle since before idleBefore, not warned since.
	DormantToWarn(ctx context.Context, companyID int64, idleBefore time.Time, limit int) ([]DormantUser, error)
	// WarnDormant records that a user was warned (dormant_warned_at, an
	// event) with the warning's e-mail job, in one transaction — unless,
	// checked again under lock, the user no longer qualifies (false).
	WarnDormant(ctx context.Context, userID int64, idleBefore time.Time, job *Job) (bool, error)
	// BlockDormant blocks up to limit active users of a company idle since
	// before idleBefore who were warned before warnedBefore (and since
	// they were last active) or have no e-mail address; each block is an
	// event with comment as its reason. It answers how many it blocked.
	BlockDormant(ctx context.Context, companyID int64, idleBefore, warnedBefore time.Time, comment string, limit int) (int, error)
	// EnsureJob writes a pending job of j's kind unless one is pending or
	// running already; it reports whether it wrote one.
	EnsureJob(ctx context.Context, j *Job) (bool, error)
}
