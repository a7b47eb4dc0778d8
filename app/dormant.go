package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/mail"
)

// dormantBatch is how many accounts one store call warns or blocks.
const dormantBatch = 200

// DormantResult is what one sweep did.
type DormantResult struct {
	Warned, Blocked int
}

// SweepDormant warns and blocks the dormant accounts of every company with
// dormant_block_days on (see roster.DormantService for the rules). It runs
// as the system, without an actor: the events it writes have none and say
// why in their comment. It is the handler of roster.DormantJobKind.
func (a *App) SweepDormant(ctx context.Context) (DormantResult, error) {
	var res DormantResult
	store, ok := a.d.Users.(roster.DormantService)
	if !ok {
		return res, fmt.Errorf("dormant accounts: the store does not keep them")
	}
	companies, err := store.DormantCompanies(ctx)
	if err != nil {
		return res, err
	}
	now := a.now()
	week := roster.DormantWarningDays * 24 * time.Hour
	for _, cs := range companies {
		days := time.Duration(cs.DormantBlockDays) * 24 * time.Hour
		// Block first, so that a sweep never warns and blocks one account.
		comment := fmt.Sprintf("Blocked automatically: nobody signed in for %d days (the company's dormant_block_days).", cs.DormantBlockDays)
		for {
			n, err := store.BlockDormant(ctx, cs.CompanyID, now.Add(-days), now.Add(-week), comment, dormantBatch)
			if err != nil {
				return res, err
			}
			res.Blocked += n
			if n < dormantBatch {
				break
			}
		}
		var company string
		if c, err := a.d.Companies.CompanyByID(ctx, roster.Scope{All: true}, cs.CompanyID); err == nil {
			company = c.Name
		}
		idleBefore := now.Add(-(days - week))
		for {
			due, err := store.DormantToWarn(ctx, cs.CompanyID, idleBefore, dormantBatch)
			if err != nil {
				return res, err
			}
			batch := 0
			for _, d := range due {
				blockAt := d.IdleSince.Add(days)
				if min := now.Add(week); blockAt.Before(min) {
					blockAt = min
				}
				job, err := a.MailJob(ctx, d.User, mail.KindDormant, mail.DormantWarning{BaseURL: a.BaseURL(ctx),
					Name: d.User.DisplayName(), Company: company, Days: cs.DormantBlockDays, BlockAt: blockAt})
				if err != nil {
					return res, err
				}
				warned, err := store.WarnDormant(ctx, d.User.ID, idleBefore, job)
				if err != nil {
					return res, err
				}
				if warned {
					res.Warned++
					batch++
				}
			}
			if len(due) < dormantBatch || batch == 0 {
				break
			}
		}
	}
	if res.Warned > 0 {
		a.JobsWritten()
	}
	return res, nil
}

// DormantJob is the job handler of roster.DormantJobKind.
func (a *App) DormantJob(ctx context.Context, _ json.RawMessage) error {
	_, err := a.SweepDormant(ctx)
	return err
}

// NewDormantJob is the job that runs SweepDormant, due at runAt.
func NewDormantJob(runAt time.Time) *roster.Job {
	j, _ := roster.NewJob(roster.DormantJobKind, struct{}{})
	j.RunAt = runAt
	j.MaxAttempts = 3
	return j
}
