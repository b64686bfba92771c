package session

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/artifact"
	"github.com/camo-fleet/camo-fleet/internal/steps"
)

// finalScreenshotTimeout bounds the screenshot taken as a session ends.
const finalScreenshotTimeout = 5 * time.Second

// RunSteps runs a list of steps on a Managed session. Runs on one session
// are serialised; ctx cancels the run (the client went away).
func (m *Manager) RunSteps(ctx context.Context, id string, raw []json.RawMessage) ([]api.StepResult, error) {
	s, err := m.Get(id)
	if err != nil {
		return nil, err
	}
	if s.State().Ended() || s.State() == api.StateClosing {
		return nil, fmt.Errorf("%w: %s is %s", ErrEnded, id, s.State())
	}
	if s.plan.req.Mode != api.ModeManaged {
		return nil, fmt.Errorf("%w: steps run on managed sessions; %s is direct", ErrWrongMode, id)
	}
	list, err := steps.Parse(raw, m.stepLimits(s.plan.req.Engine))
	if err != nil {
		return nil, err
	}
	return s.run(ctx, list)
}

// runInitial runs the steps given at create time, then ends the session if
// the client asked for it.
func (s *Session) runInitial(list []steps.Step) {
	if _, err := s.run(context.Background(), list); err != nil {
		s.log.Info("initial steps not run", "err", err)
	}
	if s.plan.req.CloseWhenDone {
		s.RequestEnd(api.ReasonCompleted)
	}
}

func (s *Session) run(ctx context.Context, list []steps.Step) ([]api.StepResult, error) {
	s.stepsRunning.Add(1)
	defer s.stepsRunning.Add(-1)
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if st := s.State(); st != api.StateReady {
		return nil, fmt.Errorf("%w: session is %s", ErrEnded, st)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.stepCtx, cancel)
	defer stop()
	s.setState(api.StateRunning)
	defer s.afterRun()
	env := steps.Env{Page: s.managed.page, Engine: s.plan.req.Engine, Save: s.saveFile}
	base := s.resultCount()
	var out []api.StepResult
	for i, st := range list {
		r := s.runOne(ctx, env, base+i, st)
		out = append(out, r)
		if r.Status != api.StepOK {
			out = append(out, skipRest(list[i+1:], base+i+1)...)
			break
		}
	}
	return out, nil
}

func (s *Session) afterRun() {
	s.Touch()
	if s.State() == api.StateRunning {
		s.setState(api.StateReady)
	}
}

// runOne runs a step and turns URL-policy blocks seen meanwhile into the
// step's error, whichever way the browser reported them.
func (s *Session) runOne(ctx context.Context, env steps.Env, index int, st steps.Step) api.StepResult {
	blocked := s.blockCount()
	s.Touch()
	r := steps.Run(ctx, env, index, st)
	s.Touch()
	if r.Status == api.StepFailed && r.Error != nil && strings.Contains(r.Error.Message, "ERR_UNSAFE_REDIRECT") {
		r.Error.Code = "URL_BLOCKED"
	}
	if urls := s.blocksSince(blocked); len(urls) > 0 && (r.Error == nil || r.Error.Code != "URL_BLOCKED") {
		r.Status = api.StepFailed
		r.Error = &api.StepError{Code: "URL_BLOCKED",
			Message: fmt.Sprintf("navigation to %q was blocked by the worker's URL policy", truncate(urls[0], 200))}
	}
	if st.Action == "goto" && r.Status == api.StepOK {
		s.m.metrics.Navigation.WithLabelValues(s.plan.req.Engine).Observe(float64(r.DurationMs) / 1000)
	}
	s.recordResult(r)
	return r
}

func skipRest(rest []steps.Step, from int) []api.StepResult {
	out := make([]api.StepResult, 0, len(rest))
	for i, st := range rest {
		out = append(out, api.StepResult{Index: from + i, Action: st.Action, Status: api.StepSkipped})
	}
	return out
}

func (s *Session) resultCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.results)
}

func (s *Session) recordResult(r api.StepResult) {
	s.mu.Lock()
	s.results = append(s.results, r)
	if over := len(s.results) - maxKeptStepResults; over > 0 {
		s.results = s.results[over:]
	}
	s.mu.Unlock()
	s.m.metrics.Steps.WithLabelValues(r.Action, string(r.Status)).Inc()
	if r.Error != nil {
		s.m.metrics.Errors.WithLabelValues(r.Error.Code).Inc()
	}
	s.log.Info("step finished", "step", r.Index, "action", r.Action, "status", r.Status,
		"duration_ms", r.DurationMs)
	s.m.publish(Event{Type: EventStep, Session: s.View(), Step: &r})
}

// saveFile stores a screenshot or PDF a step produced.
func (s *Session) saveFile(kind, name, ext string, data []byte) (string, error) {
	sub := map[string]string{"screenshot": "screenshots", "pdf": "pdf"}[kind]
	if sub == "" {
		return "", fmt.Errorf("unknown artifact kind %q", kind)
	}
	ext = "." + strings.TrimPrefix(ext, ".")
	dir := filepath.Join(s.dir, sub)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create %s folder: %w", sub, err)
	}
	file := artifact.UniqueName(dir, artifact.SafeName(name)+ext)
	if err := os.WriteFile(filepath.Join(dir, file), data, 0o640); err != nil {
		return "", fmt.Errorf("write %s: %w", file, err)
	}
	a, err := artifact.Describe(s.dir, sub+"/"+file, artifact.Kind(kind))
	if err != nil {
		return "", err
	}
	s.addArtifact(a)
	return a.Name, nil
}

// finalScreenshot keeps a picture of the Managed page as the session ends.
func (s *Session) finalScreenshot() {
	s.mu.Lock()
	mc := s.managed
	s.mu.Unlock()
	if mc == nil {
		return
	}
	timeout := float64(finalScreenshotTimeout.Milliseconds())
	png, err := mc.page.Screenshot(playwright.PageScreenshotOptions{Timeout: &timeout})
	if err != nil {
		s.log.Warn("final screenshot", "err", err)
		return
	}
	if _, err := s.saveFile("screenshot", "final", ".png", png); err != nil {
		s.noteProblem("final screenshot: " + err.Error())
	}
}
