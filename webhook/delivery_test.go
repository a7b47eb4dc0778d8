package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/jobs"
	"github.com/roster-app/roster/secure"
	"github.com/roster-app/roster/sqlstore"
	"github.com/roster-app/roster/sqlstore/sqlstoretest"
	"github.com/roster-app/roster/webhook"
)

var all = roster.Scope{All: true}

// receiver is an HTTP endpoint answering a script of statuses (the last
// one repeats) and recording every request.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	// statuses are the answers in order; the last one repeats.
	statuses []int
	got      []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	rc := &receiver{statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{r.Header.Clone(), b})
		st := rc.statuses[min(n, len(rc.statuses)-1)]
		rc.mu.Unlock()
		w.WriteHeader(st)
		fmt.Fprintf(w, "answer %d: %s", n+1, strings.Repeat("x", 10000))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// answer makes the next requests get statuses (the last one repeating).
func (rc *receiver) answer(statuses ...int) {
	rc.mu.Lock()
	rc.statuses = append(make([]int, len(rc.got)), statuses...)
	rc.mu.Unlock()
}

// deliveryEnv is a store with a company, a jobs worker running the webhook
// sender, and the key that seals secrets.
type deliveryEnv struct {
	t       *testing.T
	s       *sqlstore.Store
	clock   *sqlstoretest.Clock
	company *roster.Company
	key     []byte
	worker  *jobs.Worker
	sender  *webhook.Sender
	seq     int
}

var testMaster = []byte("0123456789abcdef0123456789abcdef")

func newDeliveryEnv(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock, allowPrivate bool) *deliveryEnv {
	e := &deliveryEnv{t: t, s: s, clock: clock, key: webhook.Key(testMaster)}
	e.company = &roster.Company{Name: "Acme Taxi"}
	if err := s.CreateCompany(context.Background(), e.company); err != nil {
		t.Fatal(err)
	}
	e.sender = &webhook.Sender{Store: s, Key: e.key, AllowPrivate: allowPrivate, Client: webhook.NewClient(allowPrivate), Clock: clock.Now}
	e.worker = jobs.New(s, jobs.Options{Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	e.worker.Handle(roster.WebhookJobKind, e.sender.Handle)
	return e
}

// hook subscribes url to user.blocked with a new secret, as app does.
func (e *deliveryEnv) hook(url string) (*roster.Webhook, string) {
	e.t.Helper()
	secret := webhook.NewSecret()
	sealed, err := secure.Encrypt(e.key, []byte(secret))
	if err != nil {
		e.t.Fatal(err)
	}
	w := &roster.Webhook{CompanyID: e.company.ID, URL: url, EventTypes: []string{roster.EventUserBlocked}, Active: true}
	if err := e.s.CreateWebhook(context.Background(), w, sealed); err != nil {
		e.t.Fatal(err)
	}
	return w, secret
}

// block creates a user and blocks them: one user.blocked event.
func (e *deliveryEnv) block() *roster.User {
	e.t.Helper()
	ctx := context.Background()
	e.seq++
	role, err := e.s.RoleByKey(ctx, e.company.ID, roster.RoleEmployee)
	if err != nil {
		e.t.Fatal(err)
	}
	u := &roster.User{CompanyID: e.company.ID, AuthMethod: roster.AuthLogin, Login: "agent" + strconv.Itoa(e.seq),
		FirstName: "Ivan", LastName: "Petrov", Status: roster.StatusActive, PasswordHash: "x"}
	if err := e.s.CreateUser(ctx, u, []int64{role.ID}, nil, time.Time{}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.s.BlockUser(ctx, all, u.ID, "left the company"); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// run lets the worker run the due jobs and returns how many ran.
func (e *deliveryEnv) run() int {
	e.t.Helper()
	n, err := e.worker.RunOnce(context.Background(), 10)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// delivery returns the newest delivery of w.
func (e *deliveryEnv) delivery(w *roster.Webhook) *roster.WebhookDelivery {
	e.t.Helper()
	ds, err := e.s.WebhookDeliveries(context.Background(), all, w.ID, roster.WebhookDeliveryFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(ds) == 0 {
		e.t.Fatal("no delivery")
	}
	return ds[0]
}

func TestDeliveryRetriesWithBackoff(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		e := newDeliveryEnv(t, s, clock, true)
		rc := newReceiver(t, 500, 502, 200)
		hook, secret := e.hook(rc.srv.URL + "/roster")
		victim := e.block()

		if n := e.run(); n != 1 {
			t.Fatalf("ran %d jobs, want 1", n)
		}
		d := e.delivery(hook)
		if d.Status != roster.DeliveryFailed || d.Attempts != 1 || d.LastStatus != 500 || d.JobState != roster.JobPending ||
			!strings.HasPrefix(d.LastResponse, "answer 1: xxx") || len(d.LastResponse) != roster.WebhookResponseLimit {
			t.Fatalf("after the first try: %+v", d)
		}
		if d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(clock.Now().Add(30*time.Second)) {
			t.Fatalf("next try at %v, want 30 s on", d.NextAttemptAt)
		}
		if n := e.run(); n != 0 {
			t.Fatalf("a retry ran before its time")
		}
		clock.Advance(30 * time.Second)
		e.run()
		d = e.delivery(hook)
		if d.Status != roster.DeliveryFailed || d.Attempts != 2 || d.LastStatus != 502 {
			t.Fatalf("after the second try: %+v", d)
		}
		if !d.NextAttemptAt.Equal(clock.Now().Add(60 * time.Second)) {
			t.Fatalf("next try at %v, want 60 s on (doubled)", d.NextAttemptAt)
		}
		clock.Advance(60 * time.Second)
		e.run()
		d = e.delivery(hook)
		if d.Status != roster.DeliverySent || d.Attempts != 3 || d.LastStatus != 200 || d.DeliveredAt == nil ||
			!d.DeliveredAt.Equal(clock.Now()) || d.NextAttemptAt != nil || d.LastError != "" {
			t.Fatalf("after the third try: %+v", d)
		}

		reqs := rc.requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests, want 3", len(reqs))
		}
		for i, r := range reqs {
			verify(t, secret, r.header, r.body)
			if r.header.Get("webhook-id") != d.MessageID || string(r.body) != string(reqs[0].body) {
				t.Errorf("try %d: id %s, body differs: %s", i+1, r.header.Get("webhook-id"), r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		}
		if ts := reqs[2].header.Get("webhook-timestamp"); ts != strconv.FormatInt(clock.Now().Unix(), 10) {
			t.Errorf("timestamp %s, want the time of the try %d", ts, clock.Now().Unix())
		}
		var body struct {
			Type      string    `json:"type"`
			Timestamp time.Time `json:"timestamp"`
			Data      struct {
				EventID int64 `json:"event_id"`
				Company struct {
					ID   int64  `json:"id"`
					Name string `json:"name"`
				} `json:"company"`
				Target struct {
					UserID int64  `json:"user_id"`
					Name   string `json:"name"`
				} `json:"target"`
				Before, After map[string]any
				Comment       string `json:"comment"`
			} `json:"data"`
		}
		if err := json.Unmarshal(reqs[0].body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Type != roster.EventUserBlocked || body.Data.EventID != d.EventID || body.Data.Company.Name != "Acme Taxi" ||
			body.Data.Target.UserID != victim.ID || body.Data.Target.Name != "Ivan Petrov" || body.Data.After["status"] != "blocked" ||
			body.Data.Comment != "left the company" || body.Timestamp.IsZero() {
			t.Errorf("body %s", reqs[0].body)
		}
		for _, secretish := range []string{"whsec_", "password", "hash", secret} {
			if strings.Contains(string(reqs[0].body), secretish) {
				t.Errorf("body carries %q: %s", secretish, reqs[0].body)
			}
		}
	})
}

func TestDeliveryDeadThenResend(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		ctx := context.Background()
		e := newDeliveryEnv(t, s, clock, true)
		rc := newReceiver(t, 503)
		hook, secret := e.hook(rc.srv.URL)
		e.block()
		for i := 1; i <= roster.WebhookMaxAttempts; i++ {
			if n := e.run(); n != 1 {
				t.Fatalf("try %d: ran %d jobs", i, n)
			}
			clock.Advance(e.worker.Backoff(i))
		}
		d := e.delivery(hook)
		if d.Status != roster.DeliveryDead || d.JobState != roster.JobDead || d.Attempts != roster.WebhookMaxAttempts || d.LastStatus != 503 || d.NextAttemptAt != nil {
			t.Fatalf("after %d tries: %+v", roster.WebhookMaxAttempts, d)
		}
		clock.Advance(24 * time.Hour)
		if n := e.run(); n != 0 {
			t.Fatal("a dead delivery was tried again")
		}

		rc.answer(204)
		resent, err := s.ResendWebhookDelivery(ctx, all, hook.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if resent.Status != roster.DeliveryPending || resent.JobState != roster.JobPending {
			t.Fatalf("resent %+v", resent)
		}
		e.run()
		d = e.delivery(hook)
		if d.Status != roster.DeliverySent || d.Attempts != roster.WebhookMaxAttempts+1 || d.LastStatus != 204 {
			t.Fatalf("after the resend: %+v", d)
		}
		reqs := rc.requests()
		last := reqs[len(reqs)-1]
		verify(t, secret, last.header, last.body)
		if last.header.Get("webhook-id") != reqs[0].header.Get("webhook-id") {
			t.Error("a resend changed the webhook-id")
		}
		page, err := s.Events(ctx, all, roster.EventFilter{Type: roster.EventWebhookResent})
		if err != nil || len(page.Items) != 1 || page.Items[0].After["delivery_id"] != float64(d.ID) {
			t.Fatalf("resend events %v, %v", page, err)
		}
	})
}

// TestResendSupersedesWaitingRetry resends while a retry waits: the new
// job sends at once and the old one, when due, sends nothing.
func TestResendSupersedesWaitingRetry(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		e := newDeliveryEnv(t, s, clock, true)
		rc := newReceiver(t, 500, 200)
		hook, _ := e.hook(rc.srv.URL)
		e.block()
		e.run()
		d := e.delivery(hook)
		if _, err := s.ResendWebhookDelivery(context.Background(), all, hook.ID, d.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.run(); n != 1 {
			t.Fatalf("ran %d jobs", n)
		}
		clock.Advance(time.Hour)
		if n := e.run(); n != 1 {
			t.Fatalf("the superseded job: ran %d", n)
		}
		if d = e.delivery(hook); d.Status != roster.DeliverySent || d.Attempts != 2 || len(rc.requests()) != 2 {
			t.Fatalf("delivery %+v after %d requests", d, len(rc.requests()))
		}
	})
}

// TestDeliveryRefusedAtSendTime stores a webhook whose host name resolves
// to the loopback address (as if DNS changed after it was entered): the
// sender refuses it on the address it would dial, for good, and sends
// nothing; a server started with allowPrivate delivers it on resend.
func TestDeliveryRefusedAtSendTime(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		e := newDeliveryEnv(t, s, clock, false)
		rc := newReceiver(t, 200)
		u, _ := url.Parse(rc.srv.URL)
		hook, _ := e.hook("http://localhost:" + u.Port() + "/hook")
		e.block()
		e.run()
		d := e.delivery(hook)
		if d.Status != roster.DeliveryDead || d.JobState != roster.JobDead || d.Attempts != 1 ||
			!strings.Contains(d.LastError, "refused") || !strings.Contains(d.LastError, "loopback") || d.LastStatus != 0 {
			t.Fatalf("delivery %+v", d)
		}
		if n := len(rc.requests()); n != 0 {
			t.Fatalf("the receiver got %d requests", n)
		}

		loose := newDeliveryEnv(t, s, clock, true)
		loose.company = e.company
		if _, err := s.ResendWebhookDelivery(context.Background(), all, hook.ID, d.ID); err != nil {
			t.Fatal(err)
		}
		loose.run()
		if d = e.delivery(hook); d.Status != roster.DeliverySent || len(rc.requests()) != 1 {
			t.Fatalf("with allowPrivate: %+v", d)
		}
	})
}

// TestDeliveryOfChangedWebhooks: a paused webhook's waiting delivery goes
// dead unsent; a deleted webhook's job ends without sending.
func TestDeliveryOfChangedWebhooks(t *testing.T) {
	sqlstoretest.ForEachEngineClock(t, func(t *testing.T, s *sqlstore.Store, clock *sqlstoretest.Clock) {
		ctx := context.Background()
		e := newDeliveryEnv(t, s, clock, true)
		rc := newReceiver(t, 200)
		paused, _ := e.hook(rc.srv.URL + "/paused")
		gone, _ := e.hook(rc.srv.URL + "/gone")
		e.block()
		off := false
		if _, err := s.UpdateWebhook(ctx, all, paused.ID, roster.WebhookUpdate{Active: &off}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteWebhook(ctx, all, gone.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.run(); n != 2 {
			t.Fatalf("ran %d jobs", n)
		}
		if d := e.delivery(paused); d.Status != roster.DeliveryDead || !strings.Contains(d.LastError, "paused") {
			t.Fatalf("paused: %+v", d)
		}
		if n := len(rc.requests()); n != 0 {
			t.Fatalf("%d requests", n)
		}
		js, err := s.Jobs(ctx, roster.JobFilter{Kind: roster.WebhookJobKind})
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]int{}
		for _, j := range js {
			states[j.State]++
		}
		if states[roster.JobDone] != 1 || states[roster.JobDead] != 1 {
			t.Fatalf("job states %v", states)
		}
	})
}
