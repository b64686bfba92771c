package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/artifact"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
	"github.com/camo-fleet/camo-fleet/internal/procs"
)

// Timings of the supervisor.
const (
	maxIdleCheck    = time.Second
	stepDrainWait   = 5 * time.Second
	finalizeTimeout = 60 * time.Second
)

// supervise waits for the first reason to end the session and ends it.
func (s *Session) supervise() {
	defer s.m.wg.Done()
	idleTTL := time.Duration(s.plan.idleTTLSec) * time.Second
	check := min(maxIdleCheck, idleTTL/4)
	tick := time.NewTicker(check)
	defer tick.Stop()
	lifetime := time.NewTimer(time.Until(s.expiresAt))
	defer lifetime.Stop()
	for {
		select {
		case r := <-s.endCh:
			s.finish(r, nil)
			return
		case <-lifetime.C:
			s.finish(api.ReasonMaxDuration, nil)
			return
		case now := <-tick.C:
			if s.idleFor(now) >= idleTTL {
				s.finish(api.ReasonIdleTimeout, nil)
				return
			}
		case <-s.proc.Done():
			s.finish(api.ReasonBrowserCrashed, fmt.Errorf("browser exited unexpectedly: %v; %s",
				s.proc.ExitErr(), s.proc.Stderr()))
			return
		}
	}
}

// endState is the final state for each reason.
func endState(r api.Reason) api.State {
	switch r {
	case api.ReasonIdleTimeout, api.ReasonMaxDuration:
		return api.StateExpired
	case api.ReasonKilled:
		return api.StateKilled
	case api.ReasonBrowserCrashed, api.ReasonStartFailed, api.ReasonArtifactFailed:
		return api.StateFailed
	case api.ReasonWorkerLost:
		return api.StateLost
	}
	return api.StateClosed
}

// finish ends the session: steps are cancelled, the Managed context is
// closed, the launcher closes what is left and exits (or is killed after the
// grace period), every process of the session is killed, artifacts are
// finalised, and only then is the slot freed and the end published.
func (s *Session) finish(reason api.Reason, cause error) {
	began := time.Now()
	s.setState(api.StateClosing)
	s.log.Info("session ending", "reason", reason)
	s.stepCancel()
	var errs []error
	if s.plan.record.Screenshots && reason != api.ReasonBrowserCrashed {
		s.finalScreenshot()
	}
	if err := s.closeManaged(); err != nil {
		s.log.Warn("close managed context", "err", err)
	}
	s.waitSteps()
	if p := s.proc; p != nil {
		if err := p.Close(s.m.cfg.CloseGrace); err != nil {
			s.log.Warn("launcher close", "err", err)
		}
		// A dying browser drops its Direct client, and the relay may report
		// that before the launcher's exit is seen: the crash is the reason.
		if reason == api.ReasonClientClosed && p.BrowserLost() {
			reason, cause = api.ReasonBrowserCrashed, fmt.Errorf(
				"browser exited unexpectedly under the client: %v; %s", p.ExitErr(), p.Stderr())
			s.log.Warn("browser crashed under the client")
		}
	}
	if n, err := procs.KillByEnv(launcher.EnvSession, s.id); n > 0 || err != nil {
		s.log.Warn("killed leftover session processes", "count", n, "err", err)
	}
	if err := s.finalize(); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(s.tmpDir); err != nil {
		errs = append(errs, fmt.Errorf("remove temporary folder: %w", err))
	}
	s.seal(reason, cause, errors.Join(errs...), began)
}

// waitSteps gives running steps a moment to notice the cancellation.
func (s *Session) waitSteps() {
	deadline := time.Now().Add(stepDrainWait)
	for s.stepsRunning.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// seal records the end state, frees the slot and publishes the end.
func (s *Session) seal(reason api.Reason, cause, artifactErr error, began time.Time) {
	state := endState(reason)
	var msgs []string
	if cause != nil {
		msgs = append(msgs, cause.Error())
	}
	if artifactErr != nil {
		msgs = append(msgs, "artifacts: "+artifactErr.Error())
		if state != api.StateFailed {
			state, reason = api.StateFailed, api.ReasonArtifactFailed
		}
	}
	s.mu.Lock()
	msgs = append(msgs, s.problems...)
	s.reason, s.endedAt = reason, time.Now().UTC()
	if len(msgs) > 0 {
		s.errMsg = truncate(joinLines(msgs), 4000)
	}
	s.mu.Unlock()
	s.setState(state)
	if err := s.writeMeta(); err != nil {
		s.log.Warn("write session.json", "err", err)
	}
	s.m.release(s)
	s.m.metrics.Ended.WithLabelValues(s.plan.req.Engine, string(s.plan.req.Mode), string(reason)).Inc()
	s.log.Info("session ended", "reason", reason, "state", state,
		"duration", time.Since(began).String(), "err", s.View().Error)
	s.m.publish(Event{Type: EventEnded, Session: s.View()})
	close(s.ended)
}

// finalize turns what the launcher wrote into the session's artifacts.
func (s *Session) finalize() error {
	if _, err := os.Stat(s.dir); err != nil {
		return fmt.Errorf("artifact folder: %w", err)
	}
	var errs []error
	errs = append(errs, s.finalizeHAR())
	errs = append(errs, s.finalizeVideos()...)
	for _, f := range []struct {
		name string
		kind artifact.Kind
	}{{"console.jsonl", artifact.KindConsole}, {"network.jsonl", artifact.KindNetwork}} {
		errs = append(errs, s.keep(f.name, f.kind))
	}
	_ = os.RemoveAll(filepath.Join(s.dir, "downloads", ".incoming"))
	if err := artifact.WriteManifest(s.dir, s.Artifacts()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// keep describes a file the launcher wrote, if it exists.
func (s *Session) keep(name string, kind artifact.Kind) error {
	if _, err := os.Stat(filepath.Join(s.dir, name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	a, err := artifact.Describe(s.dir, name, kind)
	if err != nil {
		return err
	}
	s.addArtifact(a)
	return nil
}

func (s *Session) finalizeHAR() error {
	entries := filepath.Join(s.dir, ".har-entries.jsonl")
	defer os.Remove(entries)
	if !s.plan.record.HAR {
		return nil
	}
	creator := artifact.NameVersion{Name: "camo-fleet", Version: s.m.cfg.Version}
	browser := artifact.NameVersion{Name: s.plan.req.Engine, Version: s.version}
	n, skipped, err := artifact.BuildHAR(entries, filepath.Join(s.dir, "session.har"), creator, browser)
	if err != nil {
		return fmt.Errorf("build HAR: %w", err)
	}
	s.log.Info("har written", "entries", n, "skipped_lines", skipped)
	return s.keep("session.har", artifact.KindHAR)
}

// finalizeVideos keeps each complete video; a file ffprobe cannot read is
// removed and reported rather than listed.
func (s *Session) finalizeVideos() []error {
	if !s.plan.record.Video {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(s.dir, "video", "*.webm"))
	var errs []error
	for _, f := range files {
		ctx, cancel := contextWithTimeout(finalizeTimeout)
		d, err := artifact.ProbeVideo(ctx, f)
		cancel()
		name := "video/" + filepath.Base(f)
		if err != nil && !errors.Is(err, artifact.ErrNoFFprobe) {
			s.noteProblem(fmt.Sprintf("video %s is incomplete and was not kept: %v", name, err))
			_ = os.Rename(f, f+".incomplete")
			continue
		}
		s.log.Debug("video complete", "name", name, "duration", d.String())
		errs = append(errs, s.keep(name, artifact.KindVideo))
	}
	return errs
}
