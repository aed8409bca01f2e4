package socketio_test

import (
	"strings"
	"testing"

	"github.com/go-sio/socketio"
)

// Each malformed packet closes the connection that sent it, as Node does,
// and never the others: a bystander in the same namespace keeps exchanging
// events, and the server keeps accepting connections.
func TestMalformedPacketClosesOnlyItsClient(t *testing.T) {
	malformed := []string{
		"4abc",             // unknown Socket.IO packet type
		"42{}",             // EVENT payload not an array
		`42abc["message"]`, // garbage where the ack id goes
		`42["disconnect"]`, // reserved event name
		`42[]`,             // no event name
		`452-["message",{"_placeholder":true,"num":5}]`, // placeholder out of range (then 2 frames)
		`4511-["message"]`,                         // more attachments than allowed
		`40{"a":` + strings.Repeat("[", 100) + `}`, // invalid JSON
		`41/nowhere,`,                              // packet for a namespace never joined
		"40",                                       // second CONNECT to "/"
	}
	h := startServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("message", func(e *socketio.Event) { _ = s.Emit("message-back", e.Args.Values()...) })
		})
	})
	bystander, _ := h.connect()
	for _, packet := range malformed {
		t.Run(packet, func(t *testing.T) {
			c, _ := h.connect()
			c.SendText(packet)
			if strings.HasPrefix(packet, "452-") {
				c.SendBinary([]byte{1})
				c.SendBinary([]byte{2})
			}
			c.ExpectClosed()

			bystander.SendText(`42["message","still here"]`)
			bystander.ExpectTextSkippingPings(`42["message-back","still here"]`)
		})
	}
	// The server still accepts new clients.
	c, _ := h.connect()
	c.SendText(`42["message",1]`)
	c.ExpectTextSkippingPings(`42["message-back",1]`)
}
