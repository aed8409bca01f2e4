package main

import (
	"reflect"
	"testing"
	"time"
)

func TestParseCommandLine(t *testing.T) {
	emit := commands[0]
	o, pos, err := parseCommandLine(emit, []string{
		"http://h", "--timeout", "2s", "ev", "-1", "--ack", "x", "-namespace=/n", "--header", "A: b",
		"--header=C:d", "2.5", "--", "--ack", "-h",
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://h", "ev", "-1", "x", "2.5", "--ack", "-h"}; !reflect.DeepEqual(pos, want) {
		t.Errorf("positional %q, want %q", pos, want)
	}
	if !o.ack || o.timeout != 2*time.Second || o.namespace != "/n" || o.path != "/socket.io/" ||
		o.headers.h.Get("A") != "b" || o.headers.h.Get("C") != "d" || o.linger != 100*time.Millisecond {
		t.Errorf("options %+v", o)
	}
	if o, _, err := parseCommandLine(emit, []string{"--ack=false", "u", "e"}); err != nil || o.ack {
		t.Errorf("--ack=false: %+v, %v", o, err)
	}
	if _, _, err := parseCommandLine(commands[2], []string{"u", "--ack"}); err == nil {
		t.Error("connect --ack: no error")
	}
}

func TestServerURL(t *testing.T) {
	for _, tc := range []struct{ in, nsp, want string }{
		{"http://h:3000", "", "http://h:3000"},
		{"localhost:3000/chat?x=1", "", "http://localhost:3000/chat?x=1"},
		{"ws://h/a", "", "http://h/a"},
		{"wss://h/a?q=1", "b", "https://h/b?q=1"},
		{"https://h", "/admin", "https://h/admin"},
	} {
		got, err := serverURL(tc.in, tc.nsp)
		if err != nil || got != tc.want {
			t.Errorf("serverURL(%q, %q) = %q, %v; want %q", tc.in, tc.nsp, got, err, tc.want)
		}
	}
	for _, in := range []string{"ftp://h", "http://", "http://h:x:y"} {
		if _, err := serverURL(in, ""); err == nil {
			t.Errorf("serverURL(%q): no error", in)
		}
	}
}
