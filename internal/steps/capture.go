package steps

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/mxschmitt/playwright-go"
)

// ScreenshotOutput is what screenshot reports.
type ScreenshotOutput struct {
	// Artifact is the stored name Env.Save returned.
	Artifact string `json:"artifact"`
	// Width and Height are the image's size in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
}

// PDFOutput is what pdf reports.
type PDFOutput struct {
	// Artifact is the stored name Env.Save returned.
	Artifact string `json:"artifact"`
}

// maxNameLen bounds the base name of an artifact.
const maxNameLen = 64

// screenshotStep captures the viewport, the whole page or one element.
type screenshotStep struct {
	Name     string `json:"name"`
	FullPage bool   `json:"fullPage"`
	Selector string `json:"selector"`
}

func (s *screenshotStep) check(Limits, time.Duration) *FieldError {
	return firstErr(
		checkName(s.Name, "png"),
		excludes("fullPage", s.FullPage, "selector", s.Selector != ""),
	)
}

func (s *screenshotStep) run(r *runner) (any, error) {
	data, err := s.capture(r)
	if err != nil {
		return nil, err
	}
	w, h, err := pngSize(data)
	if err != nil {
		return nil, fmt.Errorf("read screenshot: %w", err)
	}
	name, err := r.save("screenshot", safeName(s.Name, "png"), "png", data)
	if err != nil {
		return nil, err
	}
	return ScreenshotOutput{Artifact: name, Width: w, Height: h}, nil
}

// capture takes the PNG of an element or of the page.
func (s *screenshotStep) capture(r *runner) ([]byte, error) {
	png := playwright.ScreenshotTypePng
	if s.Selector != "" {
		opts := playwright.LocatorScreenshotOptions{Timeout: r.limit(), Type: png}
		return r.locator(s.Selector).Screenshot(opts)
	}
	return r.env.Page.Screenshot(playwright.PageScreenshotOptions{
		FullPage: &s.FullPage,
		Timeout:  r.limit(),
		Type:     png,
	})
}

// pdfStep prints the page to PDF.
type pdfStep struct {
	Name string `json:"name"`
}

func (s *pdfStep) check(lim Limits, _ time.Duration) *FieldError {
	if lim.Engine != "chromium" {
		return &FieldError{
			Field:  "action",
			Reason: fmt.Sprintf("pdf is supported only by chromium, not %q", lim.Engine),
			Code:   CodeUnsupportedByEngine,
		}
	}
	return checkName(s.Name, "pdf")
}

func (s *pdfStep) run(r *runner) (any, error) {
	if r.env.Engine != "chromium" {
		return nil, fmt.Errorf("%w: pdf needs chromium, not %q", errUnsupported, r.env.Engine)
	}
	data, err := r.env.Page.PDF(playwright.PagePdfOptions{PrintBackground: new(true)})
	if err != nil {
		return nil, err
	}
	name, err := r.save("pdf", safeName(s.Name, "pdf"), "pdf", data)
	if err != nil {
		return nil, err
	}
	return PDFOutput{Artifact: name}, nil
}

// checkName refuses an artifact name with nothing safe in it.
func checkName(name, ext string) *FieldError {
	if fe := required("name", name); fe != nil {
		return fe
	}
	if safeName(name, ext) == "" {
		return fieldErr("name", "must contain a letter or a digit")
	}
	return nil
}

// safeName cuts name down to a base name fit for a file: without the
// extension ext, with letters, digits, ".", "_" and "-" only, with neither a
// leading nor a trailing dot or dash, at most maxNameLen long.
func safeName(name, ext string) string {
	if strings.HasSuffix(strings.ToLower(name), "."+ext) {
		name = name[:len(name)-len(ext)-1]
	}
	safe := strings.Map(safeRune, name)
	safe = strings.Trim(safe, ".-")
	if len(safe) > maxNameLen {
		safe = strings.TrimRight(safe[:maxNameLen], ".-")
	}
	return safe
}

// safeRune keeps an ASCII letter, digit, ".", "_" or "-" and turns anything
// else into "-".
func safeRune(c rune) rune {
	switch {
	case c > unicode.MaxASCII:
		return '-'
	case unicode.IsLetter(c), unicode.IsDigit(c), strings.ContainsRune("._-", c):
		return c
	}
	return '-'
}

// extractStep reads text, HTML or an attribute of elements.
type extractStep struct {
	Selector  string `json:"selector"`
	What      string `json:"what"`
	Attribute string `json:"attribute"`
	All       bool   `json:"all"`
}

func (s *extractStep) check(Limits, time.Duration) *FieldError {
	if fe := firstErr(required("selector", s.Selector), required("what", s.What)); fe != nil {
		return fe
	}
	if fe := oneOf("what", s.What, "text", "html", "attribute"); fe != nil {
		return fe
	}
	if s.What == "attribute" {
		return required("attribute", s.Attribute)
	}
	if s.Attribute != "" {
		return fieldErr("attribute", "is only valid when what is attribute")
	}
	return nil
}

func (s *extractStep) run(r *runner) (any, error) {
	if s.All {
		return s.every(r)
	}
	l := r.locator(s.Selector)
	switch s.What {
	case "html":
		return l.InnerHTML(playwright.LocatorInnerHTMLOptions{Timeout: r.limit()})
	case "attribute":
		opts := playwright.LocatorGetAttributeOptions{Timeout: r.limit()}
		return l.GetAttribute(s.Attribute, opts)
	}
	return l.InnerText(playwright.LocatorInnerTextOptions{Timeout: r.limit()})
}

// extractAllScripts read one value from each element, by extractStep.What.
var extractAllScripts = map[string]string{
	"text":      `els => els.map(e => e.innerText ?? e.textContent ?? "")`,
	"html":      `els => els.map(e => e.innerHTML)`,
	"attribute": `(els, name) => els.map(e => e.getAttribute(name) ?? "")`,
}

// every reads all the matches at once, without waiting for any.
func (s *extractStep) every(r *runner) ([]string, error) {
	l := r.env.Page.Locator(s.Selector)
	v, err := l.EvaluateAll(extractAllScripts[s.What], s.Attribute)
	if err != nil {
		return nil, err
	}
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		str, _ := it.(string)
		out = append(out, str)
	}
	return out, nil
}

// evaluateStep runs JavaScript in the page.
type evaluateStep struct {
	Expression string `json:"expression"`
}

func (s *evaluateStep) check(lim Limits, _ time.Duration) *FieldError {
	if !lim.AllowEvaluate {
		return &FieldError{
			Field:  "action",
			Reason: "evaluate is disabled on this worker",
			Code:   CodeEvaluateDisabled,
		}
	}
	return required("expression", s.Expression)
}

// run returns the result as JSON text.
//
// The result is not bounded in size: a page can return megabytes that end up
// in the session's record. A cap here (and on extract) would remove that.
func (s *evaluateStep) run(r *runner) (any, error) {
	v, err := r.env.Page.Evaluate(s.Expression)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errEvaluate, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: result is not JSON: %w", errEvaluate, err)
	}
	return json.RawMessage(data), nil
}
