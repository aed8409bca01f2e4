package cli

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve serves srv on ln until ctx is done or serving fails. Then, within
// 5 s, it calls stop (the application's own shutdown: the connections
// http.Server does not track) and shuts srv down. It returns serving's
// error, or else the shutdown's.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, stop func(context.Context)) error {
	failed := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- err
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stop(sctx)
	if serr := srv.Shutdown(sctx); err == nil {
		err = serr
	}
	return err
}
