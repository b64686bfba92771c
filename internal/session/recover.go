package session

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/artifact"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
	"github.com/camo-fleet/camo-fleet/internal/procs"
)

// Recover cleans what a crashed predecessor left under the data folder:
// it kills every process still marked with this data folder, removes the
// browsers' temporary folders (TmpRoot), turns the HAR
// entries of unfinished sessions into HAR files, marks those sessions lost
// in their session.json and removes temporary folders. It returns how many
// sessions it closed.
func (m *Manager) Recover() (int, error) {
	killed, err := procs.KillByEnv(launcher.EnvData, m.cfg.DataDir)
	if killed > 0 {
		m.log.Warn("killed processes left by a previous worker", "count", killed)
	}
	var errs []error
	errs = append(errs, err, os.RemoveAll(TmpRoot(m.cfg.DataDir)))
	dirs, _ := filepath.Glob(filepath.Join(m.cfg.DataDir, "sessions", "*", "session.json"))
	closed := 0
	for _, f := range dirs {
		ok, err := m.recoverOne(filepath.Dir(f))
		errs = append(errs, err)
		if ok {
			closed++
		}
	}
	return closed, errors.Join(errs...)
}

func (m *Manager) recoverOne(dir string) (bool, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "session.json"))
	if err != nil {
		return false, err
	}
	var md meta
	if err := json.Unmarshal(raw, &md); err != nil || md.State.Ended() {
		return false, nil
	}
	entries := filepath.Join(dir, ".har-entries.jsonl")
	var list []artifact.Artifact
	if _, err := os.Stat(entries); err == nil {
		creator := artifact.NameVersion{Name: "camo-fleet", Version: m.cfg.Version}
		if _, _, err := artifact.BuildHAR(entries, filepath.Join(dir, "session.har"), creator,
			artifact.NameVersion{Name: md.Engine}); err == nil {
			_ = os.Remove(entries)
		}
	}
	for _, f := range []struct {
		name string
		kind artifact.Kind
	}{{"session.har", artifact.KindHAR}, {"console.jsonl", artifact.KindConsole},
		{"network.jsonl", artifact.KindNetwork}} {
		if a, err := artifact.Describe(dir, f.name, f.kind); err == nil {
			list = append(list, a)
		}
	}
	md.State, md.Reason = api.StateLost, string(api.ReasonWorkerLost)
	b, _ := json.Marshal(md)
	m.log.Info("closed session left by a previous worker", "session_id", md.ID)
	return true, errors.Join(os.WriteFile(filepath.Join(dir, "session.json"), b, 0o640),
		artifact.WriteManifest(dir, list))
}
