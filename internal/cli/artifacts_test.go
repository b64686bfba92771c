package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/client"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

func TestArtifactsDownload(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	in := invocation{t: t, base: w.Base}
	file := writeFile(t, "shots.yaml", fmt.Sprintf(`record: {har: true}
steps:
  - {action: goto, url: %q}
  - {action: screenshot, name: home}
  - {action: screenshot, name: full, fullPage: true}
`, site.URL))
	id := sessionID.FindString(in.run("run", file).want(t, ExitOK).stdout)

	list := in.run("artifacts", id).want(t, ExitOK)
	matchLines(t, list.stdout, `^KIND +NAME +SIZE +URL$`)
	for _, name := range []string{"screenshots/home.png", "screenshots/full.png", "session.har"} {
		if !strings.Contains(list.stdout, " "+name+" ") {
			t.Errorf("artifacts table lacks %s", name)
		}
	}

	dir := filepath.Join(t.TempDir(), "out")
	got := in.run("artifacts", id, "--download", dir).want(t, ExitOK)
	listed := w.Artifacts(id)
	if len(listed) < 3 {
		t.Fatalf("listed %d artifacts, want at least 3", len(listed))
	}
	for _, a := range listed {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(a.Name)))
		if err != nil {
			t.Fatalf("artifact %s not downloaded: %v", a.Name, err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != a.SHA256 {
			t.Errorf("%s: sha256 %x, listed %s", a.Name, sum, a.SHA256)
		}
		if !strings.Contains(got.stdout, filepath.Join(dir, filepath.FromSlash(a.Name))) {
			t.Errorf("download output does not say where %s went", a.Name)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*", "*.part"))
	if len(leftovers) != 0 {
		t.Errorf("partial files left: %v", leftovers)
	}

	logs := in.run("logs", id, "--kind", "console").want(t, ExitOK)
	matchLines(t, logs.stdout, `^TIME +PAGE +TYPE +TEXT +SOURCE$`, `\blog +home loaded +http://`)
	network := in.run("logs", id, "--output", "json").want(t, ExitOK)
	if !strings.HasPrefix(network.stdout, `{"sessionId":"`+id+`"`) {
		t.Errorf("logs --output json: %q", network.stdout)
	}
}

func TestLocalName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "session.har", "session.har"},
		{"folder", "screenshots/home.png", "screenshots/home.png"},
		{"parent", "../../etc/passwd", "etc/passwd"},
		{"absolute", "/etc/passwd", "etc/passwd"},
		{"backslashes", `..\..\win.ini`, "win.ini"},
		{"dots only", "..", "artifact"},
		{"empty", "", "artifact"},
		{"dot parts", "a/./b//c", "a/b/c"},
		{"unsafe characters", "downloads/a b;$(rm).txt", "downloads/a_b___rm_.txt"},
		{"control characters", "x\x00y\n.txt", "x_y_.txt"},
		{"unicode letters", "downloads/résumé.pdf", "downloads/résumé.pdf"},
		{"long", strings.Repeat("é", 100) + ".txt", strings.Repeat("é", 60)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := localName(tt.in)
			if got != filepath.FromSlash(tt.want) {
				t.Fatalf("localName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !filepath.IsLocal(got) {
				t.Fatalf("%q is not local", got)
			}
		})
	}
}

func TestLocalNamesUnique(t *testing.T) {
	list := []client.Artifact{{Name: "a/b.png"}, {Name: "a//b.png"}, {Name: "a/b?.png"},
		{Name: "a/b_.png"}}
	got := localNames(list)
	want := []string{"a/b.png", "a/b-2.png", "a/b_.png", "a/b_-2.png"}
	for i := range want {
		if got[i] != filepath.FromSlash(want[i]) {
			t.Fatalf("localNames = %q, want %q", got, want)
		}
	}
}

func TestDownloadStaysInDir(t *testing.T) {
	// A symbolic link in the download folder must not lead a write out of it.
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "screenshots")); err != nil {
		t.Skipf("symlink: %v", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	c, _ := client.New("http://127.0.0.1:1")
	err = download(t.Context(), c, root, client.Artifact{Name: "screenshots/x.png",
		URL: "/artifacts/x/screenshots/x.png"}, "screenshots/x.png")
	if err == nil {
		t.Fatal("download through a symbolic link out of the folder succeeded")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("wrote outside the download folder: %v", entries)
	}
}
