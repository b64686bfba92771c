// Command camofleet runs a Camo-fleet role: a worker, the control-plane, or
// both in one process (serve), and the admin and client commands.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/camo-fleet/camo-fleet/internal/app"
	"github.com/camo-fleet/camo-fleet/internal/cli"
	"github.com/camo-fleet/camo-fleet/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `camofleet: a self-hosted fleet of remote browser sessions

Usage:
  camofleet serve [flags]          control-plane + one worker on PORT (default 8080),
                                   SQLite registry and artifacts under RUNNER_DATA
  camofleet worker [flags]         a worker alone (Worker API on PORT)
  camofleet control-plane [flags]  the control-plane alone, in front of WORKERS
  camofleet session <command>      drive sessions from the shell: create, list, get,
                                   kill, run FILE, artifacts, logs (see "session help")
  camofleet version           print the version

Run "camofleet <command> -h" for the flags of a command; every flag also
reads an environment variable, named in its help.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "worker":
		err = runWorker(os.Args[2:])
	case "session":
		os.Exit(cli.Main(os.Args[2:]))
	case "serve":
		err = runServe(os.Args[2:])
	case "control-plane":
		err = runControlPlane(os.Args[2:])
	case "version", "--version", "-v":
		fmt.Println(version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "camofleet: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "camofleet: %v\n", err)
		os.Exit(1)
	}
}

func runWorker(args []string) error {
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	load := config.WorkerFlags(fs, nil)
	_ = fs.Parse(args)
	cfg, err := load()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := app.NewLogger(os.Stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return app.RunWorker(ctx, cfg, version, log)
}

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	loadWorker := config.WorkerFlags(fs, nil)
	loadCP := config.ControlPlaneFlags(fs, nil, true)
	_ = fs.Parse(args)
	wcfg, err := loadWorker()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	cpcfg, err := loadCP()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := app.NewLogger(os.Stderr, wcfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return app.RunServe(ctx, wcfg, cpcfg, version, log)
}

func runControlPlane(args []string) error {
	fs := flag.NewFlagSet("control-plane", flag.ExitOnError)
	load := config.ControlPlaneFlags(fs, nil, false)
	_ = fs.Parse(args)
	cfg, err := load()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := app.NewLogger(os.Stderr, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return app.RunControlPlane(ctx, cfg, version, log)
}
