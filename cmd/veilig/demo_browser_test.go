package main

import (
	"testing"
	"time"
)

// TestDemoInBrowser is the demo as a newcomer does it after `make run`, in
// headless Chromium, in Dutch and in English, and at the second demo
// municipality, whose agent alone sees its contact: the municipality site's
// widget, the demo wallet disclosing with the real irmago client, the demo
// phone calling through the signed telephony API, and the agent receiving
// the verified contact (web/widget/test/demo-flow.test.mjs). Screenshots go
// to artifacts/screenshots.
func TestDemoInBrowser(t *testing.T) {
	ta := startDemoApp(t, nil)
	ta.addAgent("alice", demoPurposeID)
	ta.addAgent("anna", demoOtherPurposeID)
	runNode(t, "widget", "test/demo-flow.test.mjs", map[string]string{
		"BASE_URL":             ta.publicURL,
		"AGENT_USERNAME":       "alice",
		"AGENT_PASSWORD":       "alice-password-long",
		"OTHER_AGENT_USERNAME": "anna",
		"OTHER_AGENT_PASSWORD": "anna-password-long",
	}, 5*time.Minute)
}
