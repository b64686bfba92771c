package session

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/camoufox"
)

// Request limits.
const (
	maxLabels       = 32
	maxLabelLen     = 256
	minViewport     = 100
	maxViewport     = 7680
	maxTTLSeconds   = 7 * 24 * 3600
	defaultWidth    = 1280
	defaultHeight   = 720
	labelKeyPattern = `^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`
)

var labelKeyRE = regexp.MustCompile(labelKeyPattern)

// plan is a validated create request with defaults filled in.
type plan struct {
	req        api.CreateSessionRequest
	headless   bool
	record     api.Record
	viewport   api.Viewport
	idleTTLSec int
	maxDurSec  int
}

// validate checks a create request against the worker's settings; the first
// problem is returned as a *FieldError.
func (m *Manager) validate(req api.CreateSessionRequest) (plan, error) {
	p := plan{req: req, headless: true, viewport: api.Viewport{Width: defaultWidth, Height: defaultHeight}}
	if err := m.validateModeEngine(req); err != nil {
		return p, err
	}
	if req.Headless != nil {
		p.headless = *req.Headless
	}
	if req.Record != nil {
		p.record = *req.Record
	}
	if req.Viewport != nil {
		if err := checkViewport(*req.Viewport); err != nil {
			return p, err
		}
		p.viewport = *req.Viewport
	}
	var err error
	if p.idleTTLSec, err = ttl("idleTtlSec", req.IdleTTLSec, int(m.cfg.IdleTTL.Seconds())); err != nil {
		return p, err
	}
	maxDur := int(m.cfg.MaxDuration.Seconds())
	if p.maxDurSec, err = ttl("maxDurationSec", req.MaxDurationSec, maxDur); err != nil {
		return p, err
	}
	if err := checkLabels(req.Labels); err != nil {
		return p, err
	}
	return p, m.checkModeOptions(req, p)
}

func (m *Manager) validateModeEngine(req api.CreateSessionRequest) error {
	switch req.Mode {
	case api.ModeDirect, api.ModeManaged:
	case "":
		return &FieldError{"mode", "is required: direct or managed"}
	default:
		return &FieldError{"mode", fmt.Sprintf("must be direct or managed, got %q", req.Mode)}
	}
	if req.Mode == api.ModeDirect && !m.cfg.AllowDirect {
		return ErrDirectDisabled
	}
	if req.Engine == "" {
		return &FieldError{"engine", "is required: one of " + fmt.Sprint(m.engines.Names())}
	}
	if !m.engines.Known(req.Engine) {
		return &FieldError{"engine", fmt.Sprintf("unknown engine %q; known: %v", req.Engine, m.engines.Names())}
	}
	return nil
}

func (m *Manager) checkModeOptions(req api.CreateSessionRequest, p plan) error {
	if req.Mode == api.ModeDirect {
		if len(req.Steps) > 0 {
			return &FieldError{"steps", "only managed sessions take steps"}
		}
		if req.CloseWhenDone {
			return &FieldError{"closeWhenDone", "only managed sessions take closeWhenDone"}
		}
	}
	if req.CloseWhenDone && len(req.Steps) == 0 {
		return &FieldError{"closeWhenDone", "needs steps to run"}
	}
	if err := checkCamoufoxConfig(req); err != nil {
		return err
	}
	_, avail, _ := m.engines.Get(req.Engine)
	if p.record.Video && avail.Available && !avail.Capabilities.Video {
		return &FieldError{"record.video", fmt.Sprintf("engine %s cannot record video here: %s",
			req.Engine, avail.Capabilities.Notes)}
	}
	return nil
}

func checkCamoufoxConfig(req api.CreateSessionRequest) error {
	if len(req.CamoufoxConfig) == 0 {
		return nil
	}
	if req.Engine != "camoufox" {
		return &FieldError{"camoufoxConfig", "only the camoufox engine takes camoufoxConfig"}
	}
	var ve *camoufox.ValidationError
	if err := camoufox.Config(req.CamoufoxConfig).Validate(); errors.As(err, &ve) && len(ve.Problems) > 0 {
		p := ve.Problems[0]
		return &FieldError{"camoufoxConfig." + p.Key, p.Reason}
	} else if err != nil {
		return &FieldError{"camoufoxConfig", err.Error()}
	}
	return nil
}

func checkViewport(v api.Viewport) error {
	if v.Width < minViewport || v.Width > maxViewport {
		return &FieldError{"viewport.width", fmt.Sprintf("must be %d..%d", minViewport, maxViewport)}
	}
	if v.Height < minViewport || v.Height > maxViewport {
		return &FieldError{"viewport.height", fmt.Sprintf("must be %d..%d", minViewport, maxViewport)}
	}
	return nil
}

func ttl(field string, v, def int) (int, error) {
	if v == 0 {
		return def, nil
	}
	if v < 0 || v > maxTTLSeconds {
		return 0, &FieldError{field, fmt.Sprintf("must be 1..%d seconds", maxTTLSeconds)}
	}
	return v, nil
}

func checkLabels(labels map[string]string) error {
	if len(labels) > maxLabels {
		return &FieldError{"labels", fmt.Sprintf("at most %d labels", maxLabels)}
	}
	for k, v := range labels {
		if !labelKeyRE.MatchString(k) {
			return &FieldError{"labels." + k, "key must match " + labelKeyPattern}
		}
		if len(v) > maxLabelLen {
			return &FieldError{"labels." + k, fmt.Sprintf("value longer than %d bytes", maxLabelLen)}
		}
	}
	return nil
}
