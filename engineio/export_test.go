package engineio

// ReadLoops returns the number of WebSocket read loops srv runs (they run
// on goroutines of their own, outside ServeHTTP).
func ReadLoops(srv *Server) int64 { return srv.loops.Load() }

// MaxRefusalBody is how much of a refusal's body the client reads.
const MaxRefusalBody = maxRefusalBody
