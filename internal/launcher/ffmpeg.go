package launcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// LinkFFmpeg makes the system ffmpeg visible where Playwright looks for its
// own build (<browsersPath>/ffmpeg-<revision>/ffmpeg-linux), so video works
// without downloading anything. It returns ErrNoFFmpeg when ffmpeg is not on
// PATH; video is then unavailable and the engines say so.
func LinkFFmpeg(driverDir, browsersPath string) error {
	system, err := exec.LookPath("ffmpeg")
	if err != nil {
		return ErrNoFFmpeg
	}
	rev, err := ffmpegRevision(filepath.Join(driverDir, "node_modules", "playwright-core", "browsers.json"))
	if err != nil {
		return err
	}
	dir := filepath.Join(browsersPath, "ffmpeg-"+rev)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	link := filepath.Join(dir, "ffmpeg-linux")
	if target, err := os.Readlink(link); err == nil && target == system {
		return nil
	}
	_ = os.Remove(link)
	if err := os.Symlink(system, link); err != nil {
		return fmt.Errorf("link ffmpeg for Playwright: %w", err)
	}
	return nil
}

// ErrNoFFmpeg means ffmpeg is not installed.
var ErrNoFFmpeg = errors.New("ffmpeg not found on PATH: video recording is unavailable")

func ffmpegRevision(browsersJSON string) (string, error) {
	raw, err := os.ReadFile(browsersJSON)
	if err != nil {
		return "", fmt.Errorf("read playwright-core browsers.json: %w", err)
	}
	var doc struct {
		Browsers []struct {
			Name     string `json:"name"`
			Revision string `json:"revision"`
		} `json:"browsers"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("parse %s: %w", browsersJSON, err)
	}
	for _, b := range doc.Browsers {
		if b.Name == "ffmpeg" {
			return b.Revision, nil
		}
	}
	return "", fmt.Errorf("no ffmpeg entry in %s", browsersJSON)
}
