// Package procs supervises the process trees of browser sessions.
//
// A session is a launcher process started by the worker, and a browser the
// launcher starts detached, with many children of its own. This package starts
// children in their own process group, reaps orphans re-parented to the worker
// without stealing the exit status of children an os/exec.Cmd waits for, and
// kills every process of a session: by ancestry (KillTree) or by the
// environment marker every session process inherits (KillByEnv).
//
// The work is Linux-only because it reads /proc. On other systems the package
// compiles, and its functions return an error wrapping errors.ErrUnsupported.
package procs
