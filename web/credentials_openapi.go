package web

import "github.com/roster-app/roster"

// OpenAPI descriptions of the credential routes (credentials.go).
var (
	docRegistrationGet = opDoc{tag: "registration", summary: "Check a registration link", status: 200, response: "RegistrationInfo", errors: []int{404, 410},
		description: "Public. 404 for an unknown or used link, 410 for an expired one (ask for a new invitation)."}
	docRegistrationPost = opDoc{tag: "registration", summary: "Register with an invitation: set password and name, and sign in", body: "RegistrationRequest", status: 200, response: "LoginResult", errors: []int{404, 410, 403},
		description: "Public. Activates the invited user, marks the name as set by themselves, kills the link and answers like a sign-in."}
	docForgotPassword = opDoc{tag: "auth", summary: "Ask for a password-reset link by e-mail", body: "ForgotPasswordRequest", status: 202, response: "Accepted", errors: []int{429},
		description: "Public. Answers the same 202, in about the same time, whether or not an account uses the address. The link is single-use and valid 1 hour. " +
			"At most one e-mail every 5 minutes and 3 an hour per account: further requests get the same 202 and send nothing."}
	docUnlockRequest = opDoc{tag: "auth", summary: "Ask for an unlock link by e-mail", body: "UnlockRequest", status: 202, response: "Accepted", errors: []int{429},
		description: "Public. For an account locked after too many failed sign-ins: e-mails a single-use link valid 1 hour to the account's e-mail address. " +
			"Answers the same 202 whether or not the account exists or has an address; at most one e-mail every 5 minutes and 3 an hour per account."}
	docUnlock = opDoc{tag: "auth", summary: "Unlock my account with an e-mailed link", status: 200, response: "Unlocked", errors: []int{404},
		description: "Public. Lifts every sign-in lock of the account (from every address) and kills the link; a used, expired or unknown link answers 404. " +
			"It does not sign in. The link is e-mailed when the account is locked everywhere, or on request (POST /api/v1/auth/unlock)."}
	docPasswordResetToken = opDoc{tag: "auth", summary: "Set a new password with a reset link", body: "PasswordResetRequest", status: 200, response: "PasswordChanged", errors: []int{404},
		description: "Public. Ends every session of the user. It does not sign in: the next sign-in asks for the second factor as usual."}
	docMFA = opDoc{tag: "auth", summary: "Finish a sign-in with the second factor", body: "MFARequest", status: 200, response: "LoginResult", errors: []int{401, 403, 429},
		description: "Public. `code` is the TOTP code, the e-mailed code or a recovery code; each works once. At most 5 codes per sign-in attempt; e-mailed codes expire after 10 minutes. " +
			"The `mfa_token` of the login answer only finishes that attempt: it is not a session token."}
	docMFAResend = opDoc{tag: "auth", summary: "E-mail a new sign-in code", body: "MFAResendRequest", status: 202, response: "Accepted", errors: []int{401, 409, 429},
		description: "Public. For an e-mail sign-in step: a new code replaces the old one (only the newest works); tries already used stay used. At most one code every 30 seconds."}
	docMyMFA = opDoc{tag: "me", summary: "Choose e-mail codes or turn my second factor off", body: "MyMFARequest", status: 200, response: "User", errors: []int{429},
		description: "Needs the current password (checked and counted like a sign-in: 429 with Retry-After while the account must wait). TOTP is chosen by enrolling (POST /api/v1/me/2fa/totp). Ends your other sessions."}
	docMyPassword = opDoc{tag: "me", summary: "Change my password", body: "MyPasswordRequest", status: 204, errors: []int{429},
		description: "Needs the current password, checked and counted like a sign-in: wrong ones count as failed sign-ins, and while the account must wait " +
			"(for this address or everywhere) even the right one answers 429 with Retry-After and changes nothing. Ends every other session of yours."}
	docTOTPStart = opDoc{tag: "me", summary: "Start TOTP enrolment: a new secret and its QR code", body: "PasswordRequest", status: 200, response: "TOTPStart", errors: []int{429},
		description: "Needs the current password (checked and counted like a sign-in: 429 with Retry-After while the account must wait). The secret takes effect once POST /api/v1/me/2fa/totp/confirm accepts a code from it."}
	docTOTPConfirm = opDoc{tag: "me", summary: "Confirm TOTP enrolment with a code", body: "CodeRequest", status: 200, response: "TOTPConfirmed", errors: []int{409},
		description: "Answers 10 single-use recovery codes, shown this once."}
	docRecoveryCodes = opDoc{tag: "me", summary: "Replace my recovery codes", body: "PasswordRequest", status: 200, response: "TOTPConfirmed", errors: []int{409, 429},
		description: "Needs the current password (checked and counted like a sign-in) and TOTP. Answers 10 new single-use codes, shown this once; the old ones stop working."}
	docMySessions      = opDoc{tag: "me", summary: "List my live sessions", status: 200, response: "SessionList"}
	docMySessionDelete = opDoc{tag: "me", summary: "End one of my sessions", status: 204}
	docUserUnlock      = opDoc{tag: "users", summary: "Lift a user's sign-in locks after too many failures", status: 200, response: "User",
		description: "Lifts the lock of the account everywhere and the locks of single addresses, and clears the failure counters."}
	docUserMFAReset = opDoc{tag: "users", summary: "Reset a user's 2FA to e-mail codes", status: 200, response: "User", errors: []int{409},
		description: "Drops the TOTP secret and recovery codes, ends the user's sessions, is logged and e-mailed to the user."}
	docUserMFADisable = opDoc{tag: "users", summary: "Turn a user's 2FA off", status: 200, response: "User",
		description: "Drops the TOTP secret and recovery codes, ends the user's sessions, is logged and e-mailed to the user."}
	docUserSessionsDelete = opDoc{tag: "users", summary: "End every session of a user", status: 200, response: "SessionsEnded"}
	docCompanySettingsGet = opDoc{tag: "companies", summary: "A company's credential settings", status: 200, response: "CompanySettings",
		description: "The Main administrator, or a Company administrator of the company or its reseller."}
	docCompanySettingsPatch = opDoc{tag: "companies", summary: "Change a company's settings", body: "CompanySettingsPatch", status: 200, response: "CompanySettings",
		description: "The Main administrator, or a Company administrator of the company or its reseller. " +
			"plan, reseller and admins_appoint_admins only the Main administrator changes (403 otherwise). " +
			"Call statistics are on exactly when the plan is professional or pro_plus. " +
			"reseller lets the company's administrators grant the Company administrator role in its dependent companies; " +
			"admins_appoint_admins lets them grant it in the company itself."}
	docOutbox = opDoc{tag: "platform", summary: "Read the e-mail outbox (Main administrator)", status: 200, response: "OutboxPage",
		query: []paramDoc{{"state", "string", "Only messages in this state; held means kept unsent because no SMTP server is configured.", []string{roster.JobPending, roster.JobRunning, roster.JobDone, roster.JobDead, roster.JobHeld}},
			{"before_id", "integer", "Page backwards: messages older than this ID.", nil}, pLimit}}
)

// withCredentialSchemas adds the credential schemas and the credential
// fields of users to the document's schemas.
func withCredentialSchemas(m map[string]any) map[string]any {
	prop := func(schema string) map[string]any {
		o, _ := m[schema].(map[string]any)
		p, _ := o["properties"].(map[string]any)
		return p
	}
	userFields := map[string]any{
		"lang": enum(roster.LangEnglish, roster.LangRussian), "mfa_method": enum(roster.MFANone, roster.MFAEmail, roster.MFATOTP),
		"ip_allowlist":         arr(str()),
		"idle_timeout_seconds": map[string]any{"type": []string{"integer", "null"}, "description": "Idle logout; null means the company default."},
		"locked_until":         nullableDateTime(),
	}
	for _, name := range []string{"User", "UserCreated"} {
		for k, v := range userFields {
			if p := prop(name); p != nil {
				p[k] = v
			}
		}
	}
	if p := prop("UserPatch"); p != nil {
		p["ip_allowlist"] = map[string]any{"type": "array", "items": str(), "description": "Addresses and CIDR ranges; empty allows any. Needs users.credentials."}
		p["idle_timeout_seconds"] = map[string]any{"type": []string{"integer", "null"}, "minimum": roster.MinIdleTimeout, "maximum": roster.MaxIdleTimeout,
			"description": "Needs users.credentials; null returns to the company default."}
		p["lang"] = enum(roster.LangEnglish, roster.LangRussian)
	}
	if p := prop("UserCreate"); p != nil {
		p["lang"] = enum(roster.LangEnglish, roster.LangRussian)
	}
	if o, ok := m["LoginResult"].(map[string]any); ok {
		o["oneOf"] = []any{ref("LoginResponse"), ref("PasswordChangeRequired"), ref("MFARequired")}
	}
	add := map[string]any{
		"MFARequired": obj([]string{"mfa_required", "mfa_token", "method", "expires_at"}, map[string]any{
			"mfa_required": map[string]any{"const": true}, "mfa_token": str(), "method": enum(roster.MFAEmail, roster.MFATOTP), "expires_at": dateTime()}),
		"PasswordChanged":       obj([]string{"status", "detail"}, map[string]any{"status": enum("password_changed"), "detail": str()}),
		"Unlocked":              obj([]string{"status"}, map[string]any{"status": enum("unlocked"), "detail": str()}),
		"MFARequest":            closed(obj([]string{"mfa_token", "code"}, map[string]any{"mfa_token": str(), "code": str()})),
		"RegistrationInfo":      obj([]string{"email", "expires_at", "password_min_length"}, map[string]any{"email": str(), "first_name": str(), "last_name": str(), "expires_at": dateTime(), "password_min_length": integer()}),
		"RegistrationRequest":   closed(obj([]string{"password", "first_name", "last_name"}, map[string]any{"password": str(), "first_name": str(), "last_name": str()})),
		"ForgotPasswordRequest": closed(obj([]string{"email"}, map[string]any{"email": str()})),
		"UnlockRequest":         closed(obj([]string{"username"}, map[string]any{"username": map[string]any{"type": "string", "description": "E-mail or login."}})),
		"PasswordResetRequest":  closed(obj([]string{"token", "new_password"}, map[string]any{"token": str(), "new_password": str()})),
		"MyPasswordRequest":     closed(obj([]string{"current_password", "new_password"}, map[string]any{"current_password": str(), "new_password": str()})),
		"MFAResendRequest":      closed(obj([]string{"mfa_token"}, map[string]any{"mfa_token": str()})),
		"MyMFARequest":          closed(obj([]string{"method", "current_password"}, map[string]any{"method": enum(roster.MFAEmail, roster.MFANone), "current_password": str()})),
		"PasswordRequest":       closed(obj([]string{"current_password"}, map[string]any{"current_password": str()})),
		"CodeRequest":           closed(obj([]string{"code"}, map[string]any{"code": str()})),
		"TOTPStart": obj([]string{"secret", "otpauth_url", "qr_png"}, map[string]any{"secret": str(), "otpauth_url": str(),
			"qr_png": map[string]any{"type": "string", "contentEncoding": "base64", "description": "PNG image of the otpauth URL."}}),
		"TOTPConfirmed": obj([]string{"mfa_method", "recovery_codes"}, map[string]any{"mfa_method": enum(roster.MFATOTP), "recovery_codes": arr(str())}),
		"Session": obj([]string{"id", "kind", "created_at", "expires_at", "current"}, map[string]any{"id": integer(), "kind": str(), "address": str(),
			"user_agent": str(), "created_at": dateTime(), "last_seen_at": dateTime(), "expires_at": dateTime(), "current": boolean()}),
		"SessionList":   obj([]string{"items"}, map[string]any{"items": arr(ref("Session"))}),
		"SessionsEnded": obj([]string{"ended"}, map[string]any{"ended": integer()}),
		"CompanySettings": obj([]string{"company_id", "invitation_ttl_hours", "password_min_length", "idle_timeout_seconds", "plan", "reseller", "admins_appoint_admins"}, map[string]any{
			"company_id": integer(), "invitation_ttl_hours": integer(), "password_min_length": integer(), "idle_timeout_seconds": integer(),
			"plan": enum(roster.PlanStandard, roster.PlanProfessional, roster.PlanProPlus), "reseller": boolean(), "admins_appoint_admins": boolean(),
			"dormant_block_days": map[string]any{"type": "integer", "description": "Accounts nobody signed in to for this many days are blocked automatically, after an e-mail warning a week before; 0 is off."}}),
		"CompanySettingsPatch": closed(obj(nil, map[string]any{
			"plan":                  enum(roster.PlanStandard, roster.PlanProfessional, roster.PlanProPlus),
			"reseller":              boolean(),
			"admins_appoint_admins": boolean(),
			"invitation_ttl_hours":  map[string]any{"type": "integer", "minimum": 1, "maximum": roster.MaxInvitationTTL},
			"password_min_length":   map[string]any{"type": "integer", "minimum": roster.MinPasswordMinLength, "maximum": roster.MaxPasswordMinLength},
			"idle_timeout_seconds":  map[string]any{"type": "integer", "minimum": roster.MinIdleTimeout, "maximum": roster.MaxIdleTimeout},
			"dormant_block_days": map[string]any{"type": "integer", "minimum": 0, "maximum": roster.MaxDormantBlockDays,
				"description": "0 (off) or 8 to 3650: block active accounts nobody signed in to (or, never signed in, created) that many days ago; each owner with an e-mail address is warned once a week before."}})),
		"OutboxItem": obj([]string{"id", "state", "to", "subject", "sent"}, map[string]any{"id": integer(), "kind": str(),
			"state": enum(roster.JobPending, roster.JobRunning, roster.JobDone, roster.JobDead, roster.JobHeld), "run_at": dateTime(), "attempts": integer(),
			"max_attempts": integer(), "last_error": str(), "created_at": dateTime(), "updated_at": dateTime(),
			"to": str(), "subject": str(), "text": str(), "links": arr(str()), "sent": boolean()}),
		"OutboxPage": obj([]string{"items"}, map[string]any{"items": arr(ref("OutboxItem"))}),
	}
	for k, v := range add {
		m[k] = v
	}
	return m
}
