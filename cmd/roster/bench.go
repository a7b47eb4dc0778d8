package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/roster-app/roster/bench"
)

const benchUsage = `Usage: roster bench --url URL --username U --password P [flags]

Drives a running Roster server's HTTP API and reports, for each kind of
request, requests per second, the median and 99th-percentile latency and
the errors. It sends requests only to --url and stops by itself after
--duration for each kind.

Kinds (run one after another, each with its own number of clients):
  get     GET /api/v1/users/{id} of a random user
  list    the first page of the users list
  deep    the users list, page after page by cursor
  search  a three-letter search taken from the users' names
  update  PATCH /api/v1/users/{id} (the position): changes data
  create  POST /api/v1/users with an invitation: adds users
  signin  POST /api/v1/auth/login then logout with the given account

The account needs users.view (users.edit and users.create for update and
create) and no second factor. "roster dev load --bench-password P" makes
one: bench@bigcorp.example, administrator of the big company.

Flags:
`

// runBench is "roster bench".
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	var o bench.Options
	var kinds string
	var conc int
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&o.Username, "username", "bench@bigcorp.example", "account to sign in with")
	fs.StringVar(&o.Password, "password", os.Getenv("ROSTER_BENCH_PASSWORD"), "its password (or ROSTER_BENCH_PASSWORD)")
	fs.StringVar(&kinds, "kinds", "get:64,list:8,deep:8,search:8,update:8,create:8,signin:8", "kinds to run, each as kind or kind:clients")
	fs.IntVar(&conc, "concurrency", 8, "clients of a kind given without a number")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long each kind runs")
	fs.Int64Var(&o.CompanyID, "company-id", 0, "measure inside this company (default: the account's own)")
	fs.IntVar(&o.PID, "pid", 0, "the server's process ID on this machine, to report its peak RSS")
	fail := fs.Bool("fail-on-errors", false, "exit non-zero when any request failed (for CI)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if conc < 1 || conc > 4096 {
		return errors.New("bench: --concurrency is a number from 1 to 4096")
	}
	var err error
	if o.Kinds, err = bench.ParseKinds(kinds, conc); err != nil {
		return fmt.Errorf("bench: --kinds: %w", err)
	}
	if o.Password == "" {
		return errors.New("bench: give --password (or ROSTER_BENCH_PASSWORD)")
	}
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	rep.Print(stdout)
	if *fail && rep.Errors() > 0 {
		return fmt.Errorf("bench: %d requests failed", rep.Errors())
	}
	return nil
}
