// Package e2e holds end-to-end tests of camofleet: real workers, real
// browsers (Debian chromium and firefox-esr), real Playwright clients, pages
// served on loopback. They skip an engine whose browser is not installed.
package e2e
