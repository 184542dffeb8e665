// Package e2e holds the browser tests of PM Assistant: the real appliance
// (app.Main on loopback, with a temporary data folder) and the built-in
// Slack, Linear, GitHub and Stripe stand-ins, driven through the web UI by
// headless Chromium with chromedp, the way a person would use it.
//
// The journey goes from the first-run setup through sign-in, connecting the
// three services on the stand-ins' consent pages, ingestion, the decision
// log, search, standups, billing (a Stripe Checkout completed through the
// stand-in and its signed webhook) and the operator console to signing out;
// a second pass with JavaScript turned off proves that the forms work
// without it. Along the way every page is checked for script injected
// through ingested text, names and decision titles, and at the end every
// page, response and log line of the run is checked for secrets.
//
// The tests need Chromium: PMASSIST_CHROMIUM names the executable, else
// chromium, chromium-browser or google-chrome is looked up on PATH. Without
// one they are skipped, unless PMASSIST_REQUIRE_CHROMIUM=1 (CI) makes that a
// failure. On failure a screenshot and the HTML of every page visited are
// written to PMASSIST_E2E_ARTIFACTS, or to a new e2e-artifacts-<time> folder
// in the system's temporary folder; the test log names the folder.
//
// The package has no code of its own besides this comment: everything is in
// its _test.go files.
package e2e
