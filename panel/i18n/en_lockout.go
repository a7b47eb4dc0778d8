package i18n

// enLockout holds the English messages of the lockout that cannot be
// turned against users (issue 11): locks of one address, unlock links and
// the "Unlock my account" pages. It is merged into en at init.
var enLockout = map[string]string{
	"signin.error.locked_address": "Too many failed sign-ins to this account from your network address. Try again in %s, or unlock it with a link sent to your e-mail.",
	"signin.unlock":               "Unlock my account",
	"creds.failed_logins":         "%d failed sign-ins in a row. Addresses that failed too often are locked out of this account; unlocking lifts every lock.",
	"field.too_many_attempts":     "Too many wrong passwords. Wait a while, or unlock your account with a link sent to your e-mail.",

	"unlock.title":           "Unlock your account",
	"unlock.heading":         "Unlock your account",
	"unlock.intro":           "After too many failed sign-ins, sign-in to an account is locked. Enter the e-mail you sign in with and we will send you a link that unlocks it.",
	"unlock.submit":          "Send the unlock link",
	"unlock.sent":            "If an account uses this e-mail address, a link that unlocks it is on its way. It works once, for 1 hour.",
	"unlock.sent_hint":       "Check your inbox and spam folder. A new link can be asked for every 5 minutes.",
	"unlock.confirm_intro":   "Unlock sign-in to your account from every address. This does not sign you in and does not change your password.",
	"unlock.confirm":         "Unlock my account",
	"unlock.invalid.heading": "This unlock link does not work",
	"unlock.invalid.text":    "The link is unknown, was already used or has expired (links work for 1 hour). Ask for a new one.",
	"link.new_unlock":        "Ask for a new link",
	"flash.unlocked":         "Your account is unlocked. Sign in with your password.",

	"event.user.address_locked":        "Locked for one address after failed sign-ins",
	"event.user.unlock_link_sent":      "Unlock link e-mailed",
	"notify.event.user.address_locked": "Sign-in locked for one address after repeated failures",
	"notify.event.user.unlocked":       "Account unlocked",
}

func init() {
	for k, v := range enLockout {
		en[k] = v
	}
}
