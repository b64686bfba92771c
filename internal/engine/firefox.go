package engine

import "context"

// firefox is stock Firefox (Debian's firefox-esr), driven over WebDriver
// BiDi through Playwright's moz-firefox channel: stock Firefox has no Juggler.
type firefox struct{ path string }

func (firefox) Name() string { return "firefox" }

func (f firefox) Probe(ctx context.Context, _ bool) Availability {
	a := Availability{Name: "firefox", Protocol: "webdriver-bidi", Capabilities: Capabilities{
		HAR: true, Screenshots: true, Console: true, Network: true,
		Notes: "no video: Playwright's BiDi screencast writes empty files; no pdf step",
	}}
	return probe(ctx, a, f.path, "firefox-esr", "firefox")
}

// firefoxPrefs keep Firefox off the network on its own.
var firefoxPrefs = map[string]any{
	"app.update.enabled":                         false,
	"browser.shell.checkDefaultBrowser":          false,
	"datareporting.policy.dataSubmissionEnabled": false,
	"toolkit.telemetry.enabled":                  false,
	"browser.safebrowsing.malware.enabled":       false,
	"browser.safebrowsing.phishing.enabled":      false,
	"network.captive-portal-service.enabled":     false,
	"extensions.update.enabled":                  false,
	// Firefox opens a finished PDF download from its file: path in a new tab,
	// which the URL policy then blocks; without pdf.js it only saves it.
	"pdfjs.disabled": true,
}

func (f firefox) Spec(path string, _ Options) (LaunchSpec, error) {
	return LaunchSpec{
		BrowserType: "firefox", ExecutablePath: path, Channel: "moz-firefox",
		FirefoxUserPrefs: firefoxPrefs,
	}, nil
}
