package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/client"
)

// defaultURL is the API used when neither --url nor CAMOFLEET_URL is set.
const defaultURL = "http://localhost:8080"

// The output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

// common holds the flags every command takes.
type common struct {
	url    string
	token  string
	output string
}

// flagSet is a command's flags with its help text.
type flagSet struct {
	*flag.FlagSet
	common
	cmd   string
	args  string // positional arguments for the usage line
	about string // what the command does, a paragraph
}

// newFlagSet returns the flags of command cmd with the common ones defined.
func newFlagSet(e *Env, cmd, args, about string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(cmd, flag.ContinueOnError), cmd: cmd, args: args,
		about: about}
	fs.SetOutput(io.Discard)
	url := e.Getenv("CAMOFLEET_URL")
	if url == "" {
		url = defaultURL
	}
	fs.StringVar(&fs.url, "url", url,
		"the `URL` of the API: a worker or the control-plane (env CAMOFLEET_URL)")
	fs.StringVar(&fs.token, "token", e.Getenv("CAMOFLEET_TOKEN"),
		"send `TOKEN` as \"Authorization: Bearer TOKEN\" (env CAMOFLEET_TOKEN)")
	fs.StringVar(&fs.output, "output", outputText,
		"the output `format`: text (tables) or json (the API's JSON)")
	return fs
}

// commonFlags are the names of the flags every command takes.
var commonFlags = map[string]bool{"url": true, "token": true, "output": true}

// help writes the command's usage and flags, the command's own first.
func (fs *flagSet) help(w io.Writer) {
	fmt.Fprintf(w, "Usage: camofleet session %s %s\n\n%s\n", fs.cmd, fs.args, fs.about)
	var own, shared []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if commonFlags[f.Name] {
			shared = append(shared, f)
		} else {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintln(w, "\nFlags:")
		for _, f := range own {
			printFlag(w, f)
		}
	}
	fmt.Fprintln(w, "\nCommon flags:")
	for _, f := range shared {
		printFlag(w, f)
	}
}

// printFlag writes one flag as "--name value" and its wrapped help. The
// default is shown unless it is empty, zero, or the token (a secret).
func printFlag(w io.Writer, f *flag.Flag) {
	name, usage := flag.UnquoteUsage(f)
	head := "  --" + f.Name
	if name != "" {
		head += " " + name
	}
	switch f.DefValue {
	case "", "0", "false":
	default:
		if f.Name != "token" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
	}
	fmt.Fprintln(w, head)
	line := "     "
	for _, word := range strings.Fields(usage) {
		if len(line)+1+len(word) > 78 {
			fmt.Fprintln(w, line)
			line = "     "
		}
		line += " " + word
	}
	fmt.Fprintln(w, line)
}

// errHelp says that -h was given and the help has been printed.
var errHelp = errors.New("help requested")

// usageError is a bad command line; it is printed with a hint to -h.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// parse parses args, flags and positional arguments in any order ("--"
// ends the flags), checks that there are exactly nargs positional ones and
// that the common flags are valid, and returns the positional ones.
func (fs *flagSet) parse(e *Env, args []string, nargs int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help(e.Stdout)
				return nil, errHelp
			}
			return nil, &usageError{msg: err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) != nargs {
		return nil, fs.wrongArgs(pos, nargs)
	}
	if fs.output != outputText && fs.output != outputJSON {
		return nil, usagef("--output must be text or json, not %q", fs.output)
	}
	return pos, nil
}

func (fs *flagSet) wrongArgs(pos []string, nargs int) error {
	switch {
	case nargs == 0:
		return usagef("unexpected argument %q", pos[0])
	case len(pos) < nargs:
		return usagef("missing %s", strings.Fields(fs.args)[len(pos)])
	default:
		return usagef("unexpected argument %q after %s", pos[nargs], strings.Join(pos[:nargs], " "))
	}
}

// client returns an API client for the common flags.
func (fs *flagSet) client() (*client.Client, error) {
	c, err := client.New(fs.url, client.WithToken(fs.token),
		client.WithUserAgent("camofleet-cli"))
	if err != nil {
		return nil, usagef("--url: %v", err)
	}
	return c, nil
}

// fail prints a parse or setup error and returns the exit code for it.
func (fs *flagSet) fail(e *Env, err error) int {
	if errors.Is(err, errHelp) {
		return ExitOK
	}
	fmt.Fprintf(e.Stderr, "camofleet session %s: %v\nRun \"camofleet session %s -h\" for help.\n",
		fs.cmd, err, fs.cmd)
	return ExitUsage
}

// labelsFlag collects repeated --label key=value flags.
type labelsFlag map[string]string

// labelKey is the API's pattern for label keys.
var labelKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)

func (l labelsFlag) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

func (l labelsFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want key=value, got %q", s)
	}
	if !labelKey.MatchString(k) {
		return fmt.Errorf("label key %q: letters, digits and . _ / - (starting with a letter "+
			"or digit), at most 63", k)
	}
	if _, dup := l[k]; dup {
		return fmt.Errorf("label %q given twice", k)
	}
	l[k] = v
	return nil
}

// parseViewport reads "WIDTHxHEIGHT", e.g. "1280x720".
func parseViewport(s string) (*api.Viewport, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return nil, fmt.Errorf("want WIDTHxHEIGHT in pixels, e.g. 1280x720; got %q", s)
	}
	return &api.Viewport{Width: w, Height: h}, nil
}

// parseRecord reads a comma-separated list of har, video and screenshots.
func parseRecord(s string) (*api.Record, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var r api.Record
	for part := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(part) {
		case "har":
			r.HAR = true
		case "video":
			r.Video = true
		case "screenshots", "screenshot":
			r.Screenshots = true
		default:
			return nil, fmt.Errorf("unknown artifact %q: want har, video or screenshots", part)
		}
	}
	return &r, nil
}

// parseSeconds reads a duration as whole seconds: "300", "90s", "5m", "1h".
// Empty and "0" mean 0, the server's default.
func parseSeconds(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d%time.Second != 0 {
		return 0, fmt.Errorf("want whole seconds such as 300, 90s, 5m or 1h; got %q", s)
	}
	return int(d / time.Second), nil
}
