package engineio

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const defaultCORSMethods = "GET,HEAD,PUT,PATCH,POST,DELETE"

// applyCORS adds the CORS headers of ServerOptions.CORS to the response, as
// the "cors" package does in Node. It answers a preflight request itself and
// then returns true.
func (srv *Server) applyCORS(w http.ResponseWriter, r *http.Request) bool {
	c := srv.cfg.opts.CORS
	if c == nil {
		return false
	}
	h := w.Header()
	origin := r.Header.Get("Origin")
	wildcard := c.AllowOrigin == nil && slices.Contains(c.Origins, "*")
	switch {
	case wildcard && !c.Credentials:
		h.Set("Access-Control-Allow-Origin", "*")
	case wildcard:
		// Never "*" with credentials: browsers refuse it; echo the origin.
		h.Add("Vary", "Origin")
		if origin != "" {
			h.Set("Access-Control-Allow-Origin", origin)
		}
	default:
		h.Add("Vary", "Origin")
		allowed := origin != "" && (c.AllowOrigin != nil && c.AllowOrigin(origin, r) ||
			c.AllowOrigin == nil && slices.Contains(c.Origins, origin))
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
		}
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
	}
	if r.Method != http.MethodOptions {
		return false
	}
	methods := defaultCORSMethods
	if len(c.Methods) > 0 {
		methods = strings.Join(c.Methods, ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
	} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Headers", req)
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}
