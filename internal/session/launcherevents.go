package session

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/camo-fleet/camo-fleet/internal/artifact"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
)

// onLauncherEvent handles what the session's launcher reports while it runs.
func (s *Session) onLauncherEvent(ev launcher.Event) {
	switch ev.Event {
	case "policy_block":
		s.mu.Lock()
		s.blocks = append(s.blocks, ev.URL)
		s.mu.Unlock()
		s.m.metrics.PolicyBlocks.Inc()
		s.log.Warn("navigation blocked by URL policy", "url", truncate(ev.URL, 200), "via", ev.Via)
		s.m.publish(Event{Type: EventBlocked, Session: s.View(), URL: truncate(ev.URL, 200)})
	case "download":
		s.keepDownload(ev)
	case "dialog":
		s.log.Info("dialog dismissed", "dialog_type", ev.DialogType)
	case "artifact_error":
		s.noteProblem(fmt.Sprintf("writing %s failed: %s", ev.File, ev.Message))
		s.log.Warn("artifact write failed", "file", ev.File, "err", ev.Message)
	case "page_crash", "browser_disconnected":
		s.log.Warn("browser trouble", "event", ev.Event, "page", ev.Page)
	default:
		s.log.Debug("launcher event", "event", ev.Event, "context", ev.Context, "page", ev.Page)
	}
	s.Touch()
}

// keepDownload moves a finished download to downloads/<safe name>; the name
// the page suggested is kept in the artifact's metadata only.
func (s *Session) keepDownload(ev launcher.Event) {
	src := filepath.Join(s.dir, "downloads", ".incoming", filepath.Base(ev.ID))
	dir := filepath.Join(s.dir, "downloads")
	name := artifact.UniqueName(dir, artifact.SafeName(ev.SuggestedName))
	if err := os.Rename(src, filepath.Join(dir, name)); err != nil {
		s.noteProblem(fmt.Sprintf("keeping download %q failed: %v", ev.SuggestedName, err))
		return
	}
	a, err := artifact.Describe(s.dir, "downloads/"+name, artifact.KindDownload)
	if err != nil {
		s.noteProblem(fmt.Sprintf("describing download %q failed: %v", ev.SuggestedName, err))
		return
	}
	a.OriginalName = ev.SuggestedName
	s.log.Info("download kept", "name", name)
	s.addArtifact(a)
}

// blockCount returns how many navigations the URL policy has blocked so far.
func (s *Session) blockCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.blocks)
}

func (s *Session) blocksSince(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n >= len(s.blocks) {
		return nil
	}
	return append([]string(nil), s.blocks[n:]...)
}
