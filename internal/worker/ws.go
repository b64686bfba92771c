package worker

import (
	"context"
	"net/http"

	"github.com/camo-fleet/camo-fleet/internal/relay"
)

// relay connects a Direct client to its session's browser server. The
// token in the query is the session's one-use connect token.
func (s *Server) relay(w http.ResponseWriter, r *http.Request) {
	if err := relay.CheckUpgrade(r); err != nil {
		// Refused before the token is looked at, so a stray GET cannot
		// spend it (and end the session).
		writeError(w, r, s.log, err)
		return
	}
	backend, sess, release, err := s.mgr.ClaimRelay(r.PathValue("id"), r.URL.Query().Get("token"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := context.AfterFunc(ctxOf(sess.Done()), cancel)
	defer stop()
	res, err := relay.Serve(ctx, w, r, backend, relay.Options{OnActivity: sess.Touch,
		Logger: s.log.With("session_id", sess.ID())})
	if err != nil {
		s.log.Debug("relay ended with error", "session_id", sess.ID(), "err", err)
	}
	s.log.Debug("relay result", "session_id", sess.ID(), "closed_by", res.ClosedBy)
}

// ctxOf turns a done channel into a context.
func ctxOf(done <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-done; cancel() }()
	return ctx
}
