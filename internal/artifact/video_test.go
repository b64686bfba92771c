package artifact

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// makeWebM encodes a one-second test video into dir, skipping the test when
// ffmpeg or ffprobe is not installed.
func makeWebM(t *testing.T, dir string) string {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH; install ffmpeg to run the video tests", tool)
		}
	}
	out := filepath.Join(dir, "out.webm")
	cmd := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi",
		"-i", "testsrc=duration=1:size=320x240:rate=25", "-c:v", "libvpx", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, msg)
	}
	return out
}

func TestProbeVideo(t *testing.T) {
	dir := t.TempDir()
	good := makeWebM(t, dir)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"truncated.webm": data[:200],
		"half.webm":      data[:len(data)/4],
		"empty.webm":     nil,
		"text.webm":      []byte("this is not a video\n"),
		"-odd:name.webm": data,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		file   string
		wantOK bool
	}{
		{"whole", "out.webm", true},
		{"odd name", "-odd:name.webm", true},
		{"first 200 bytes", "truncated.webm", false},
		{"first quarter", "half.webm", false},
		{"empty", "empty.webm", false},
		{"not a video", "text.webm", false},
		{"missing", "missing.webm", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			d, err := ProbeVideo(ctx, filepath.Join(dir, tc.file))
			if !tc.wantOK {
				if err == nil {
					t.Fatalf("ProbeVideo = %v, want an error", d)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d < 900*time.Millisecond || d > 1100*time.Millisecond {
				t.Errorf("duration = %v, want about 1s", d)
			}
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := ProbeVideo(ctx, good); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestProbeVideoNoFFprobe(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := ProbeVideo(context.Background(), "any.webm")
	if !errors.Is(err, ErrNoFFprobe) {
		t.Fatalf("err = %v, want ErrNoFFprobe", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want time.Duration // 0: an error
	}{
		{"seconds", `{"format":{"duration":"1.500000"}}`, 1500 * time.Millisecond},
		{"no format", `{}`, 0},
		{"not available", `{"format":{"duration":"N/A"}}`, 0},
		{"zero", `{"format":{"duration":"0.000000"}}`, 0},
		{"negative", `{"format":{"duration":"-1"}}`, 0},
		{"nan", `{"format":{"duration":"NaN"}}`, 0},
		{"huge", `{"format":{"duration":"1e300"}}`, 0},
		{"not json", `{`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDuration([]byte(tc.out))
			if tc.want == 0 {
				if err == nil {
					t.Errorf("parseDuration = %v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseDuration = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
