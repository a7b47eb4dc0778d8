package panel

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/roster-app/roster"
)

// TestBrowserWebhooks goes from the company settings to the Webhooks tab,
// adds a webhook with two event types, reads its secret once, and resends
// a delivery from the webhook's log.
func TestBrowserWebhooks(t *testing.T) {
	alloc := newAllocator(t)
	f, base := newSite(t)
	b := newTab(t, alloc, f, base, "webhooks")
	b.signIn("admin")
	b.open("/settings/credentials")
	b.do(chromedp.Click(chromedp.CSS(`nav.tabs a[href="/settings/webhooks"]`)), chromedp.WaitVisible(chromedp.CSS("#webhook-add")))
	b.do(
		chromedp.SendKeys(chromedp.CSS("#wh-url"), "https://hooks.example.com/roster"),
		chromedp.Click(chromedp.CSS(`#webhook-add input[value="user.blocked"]`)),
		chromedp.Click(chromedp.CSS(`#webhook-add input[value="user.created"]`)),
		chromedp.Click(chromedp.CSS(`#webhook-add button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#webhook-created")),
	)
	secret := b.eval(`document.querySelector('#once-secret').value`)
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != len("whsec_")+44 {
		t.Fatalf("secret %q", secret)
	}
	if got := b.text("#webhooks"); !strings.Contains(got, "https://hooks.example.com/roster") || !strings.Contains(got, "User created, User blocked") {
		t.Fatalf("list %q", got)
	}
	// The secret is gone once the page is left.
	b.open("/settings/webhooks")
	if strings.Contains(b.eval(`document.body.innerHTML`), secret) {
		t.Fatal("the secret is shown again")
	}

	if _, err := f.store.BlockUser(context.Background(), roster.Scope{All: true}, f.users["ivan"].ID, "left"); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Click(chromedp.CSS(`#webhooks a.name`)), chromedp.WaitVisible(chromedp.CSS("#deliveries")))
	if got := b.text("#deliveries tbody"); !strings.Contains(got, "User blocked") || !strings.Contains(got, "Pending") {
		t.Fatalf("log %q", got)
	}
	b.do(chromedp.Click(chromedp.CSS(`#deliveries form[action$="/resend"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.text(".flash"); got != "The delivery will be sent again in a moment." {
		t.Fatalf("flash %q", got)
	}
}
