// Package steps parses and runs the steps of a Managed session.
//
// A step is a JSON object with an "action" and that action's parameters.
// [Parse] refuses a bad list as a whole, before anything runs, with a
// [FieldError] naming the offending field ("steps[2].url"). [Run] executes one
// parsed step on a page and reports an [api.StepResult]; [RunAll] runs a list
// in order and skips what follows the first failure.
//
// Every step accepts "timeoutMs" (an integer from 1 to Limits.MaxTimeout in
// milliseconds, Limits.DefaultTimeout when absent). A parameter marked with ?
// is optional. A selector is a Playwright selector and acts on its first
// match.
//
//	action            parameters                        output
//	goto              url, waitUntil?                   {"url", "status"}
//	click             selector, button?, clickCount?    null
//	fill              selector, value                   null
//	type              selector, text, delayMs?          null
//	press             selector?, key                    null
//	hover             selector                          null
//	check             selector                          null
//	uncheck           selector                          null
//	select            selector, values | value          null
//	waitForSelector   selector, state?                  null
//	waitForURL        url, waitUntil?                   null
//	waitForLoadState  state?                            null
//	wait              ms                                null
//	scroll            selector | x?, y?                 null
//	screenshot        name, fullPage?, selector?        {"artifact", "width", "height"}
//	extract           selector, what, attribute?, all?  string or array of strings
//	evaluate          expression                        the JSON value of the result
//	pdf               name                              {"artifact"}
//
// The parameters in detail:
//
//   - waitUntil is load (the default), domcontentloaded, networkidle or
//     commit. goto reports the final URL and the HTTP status of the main
//     response, null when there was none (about:blank, same-document).
//   - button is left (the default), right or middle; clickCount is 1 to 10.
//     Firefox (over WebDriver BiDi) clicks that many times but reports each
//     as a single click: no dblclick event, event.detail stays 1.
//   - fill replaces the field's value, which may be empty; type presses a key
//     per character of text, delayMs (0 to 1000) apart.
//   - press presses key ("Enter", "Control+A") on the element, or on the
//     keyboard of the page when selector is absent.
//   - select picks options by value or label: values is a non-empty array,
//     value a single string; give exactly one of them.
//   - waitForSelector waits for state attached, detached, visible (the
//     default) or hidden. waitForURL takes a Playwright glob ("**/done"); a URL
//     without wildcards matches itself. waitForLoadState waits for load (the
//     default), domcontentloaded or networkidle.
//   - wait sleeps ms milliseconds, which may not exceed the step's timeout.
//   - scroll brings selector into view, or scrolls the window to x and y in
//     CSS pixels (an absent one keeps its current value).
//   - screenshot takes a PNG of the viewport, of the whole page with fullPage
//     or of one element with selector; the size is read from the PNG. pdf
//     prints the page (Chromium only). Their name is cut down to a safe base
//     name (letters, digits, ".", "_" and "-") before it goes to Env.Save.
//   - extract reads what: text (innerText), html (innerHTML) or attribute
//     (the named attribute, "" when absent) of the first match, waiting for it;
//     with all it reads every match at once, without waiting, as an array.
//   - evaluate runs a JavaScript expression or function in the page; it is
//     refused by Parse unless Limits.AllowEvaluate. Its result must be
//     representable in JSON (no NaN, no cycles).
//
// Failures carry one of the Code constants, e.g. [CodeTimeout].
package steps
