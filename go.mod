module github.com/go-sio/socketio

go 1.26.8

require (
	github.com/lxzan/gws v1.9.1
	go.uber.org/goleak v1.3.0
)

require github.com/klauspost/compress v1.17.9 // indirect
