module github.com/go-sio/socketio/bench

go 1.26.8

require (
	github.com/go-sio/socketio v0.0.0-00010101000000-000000000000
	github.com/go-sio/socketio/adapter/redis v0.0.0-00010101000000-000000000000
	github.com/lxzan/gws v1.9.1
	github.com/redis/go-redis/v9 v9.23.0
	go.uber.org/goleak v1.3.0
	golang.org/x/image v0.44.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/klauspost/compress v1.17.9 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

// The core module and the Redis adapter live in the same repository
// (go.work ties them too).
replace (
	github.com/go-sio/socketio => ..
	github.com/go-sio/socketio/adapter/redis => ../adapter/redis
)
