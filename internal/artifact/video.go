package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoFFprobe is returned by ProbeVideo when ffprobe is not on PATH.
var ErrNoFFprobe = errors.New("ffprobe not found on PATH")

// probeTimeout bounds one ffprobe run when the caller's context has no
// deadline of its own.
const probeTimeout = 30 * time.Second

// maxSeconds is a bound on durations that time.Duration can hold.
const maxSeconds = float64(math.MaxInt64 / int64(time.Second))

// maxProbeStderr is how much of ffprobe's complaints goes into an error.
const maxProbeStderr = 512

// ProbeVideo asks ffprobe for the duration of the video at path. It fails with
// ErrNoFFprobe when ffprobe is missing, and with an error when the file is
// empty, when ffprobe reports damage (such as a file cut short) or when the
// file has no positive duration, as a recording killed before it finished
// does not.
func ProbeVideo(ctx context.Context, path string) (time.Duration, error) {
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		return 0, fmt.Errorf("probe video: %w", ErrNoFFprobe)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, fmt.Errorf("probe video: %w", err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return 0, fmt.Errorf("probe video: %w", err)
	}
	if info.Size() == 0 {
		return 0, fmt.Errorf("probe video %s: empty file", filepath.Base(path))
	}

	out, err := runFFprobe(ctx, bin, abs)
	if err != nil {
		return 0, fmt.Errorf("probe video %s: %w", filepath.Base(path), err)
	}
	d, err := parseDuration(out)
	if err != nil {
		return 0, fmt.Errorf("probe video %s: %w", filepath.Base(path), err)
	}
	return d, nil
}

// runFFprobe runs ffprobe on the file at the absolute path abs and returns
// its JSON output. Anything ffprobe prints at level error counts as failure.
func runFFprobe(ctx context.Context, bin, abs string) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, probeTimeout)
		defer cancel()
	}
	// The file: prefix keeps a name with ':' or a leading '-' from being
	// taken for a protocol or an option.
	cmd := exec.CommandContext(ctx, bin, "-v", "error",
		"-show_entries", "format=duration", "-of", "json", "file:"+abs)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	err := cmd.Run()
	msg := strings.Join(strings.Fields(stderr.String()), " ")
	if len(msg) > maxProbeStderr {
		msg = cutBytes(msg, maxProbeStderr) + "..."
	}
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("run ffprobe: %w", ctx.Err())
	case err != nil:
		return nil, fmt.Errorf("run ffprobe: %w: %s", err, msg)
	case msg != "":
		return nil, fmt.Errorf("damaged file: %s", msg)
	}
	return stdout.Bytes(), nil
}

// parseDuration reads the duration out of ffprobe's JSON output.
func parseDuration(out []byte) (time.Duration, error) {
	var probe struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		return 0, fmt.Errorf("decode ffprobe output: %w", err)
	}
	raw := probe.Format.Duration
	secs, err := strconv.ParseFloat(raw, 64)
	if err != nil || !(secs > 0 && secs < maxSeconds) {
		return 0, fmt.Errorf("no duration (%q)", raw)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
