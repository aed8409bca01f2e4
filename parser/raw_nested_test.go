package parser_test

import (
	"testing"

	"github.com/go-sio/socketio/parser"
)

func TestRawNestedInValue(t *testing.T) {
	d := parser.Default.NewDecoder()
	p, err := d.Decode([]byte(`2["m",{"b":1,"a":[2,"x"]}]`), false)
	if err != nil {
		t.Fatal(err)
	}
	raw := p.Args[0].(parser.Raw)
	msgs, err := parser.Default.Encode(&parser.Packet{Type: parser.Event, Event: "wrap", Args: []any{map[string]any{"inner": raw}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(msgs[0].Data), `2["wrap",{"inner":{"b":1,"a":[2,"x"]}}]`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
