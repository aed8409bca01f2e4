package adapter

import (
	"encoding/json"
	"net/textproto"
	"strings"
)

// Handshake describes the request that opened a socket, as Node exposes it.
//
// Headers and Query hold every value as Go's net/http does; on the wire
// (FetchSockets across nodes, the admin UI) they take Node's shape: header
// names in lower case with one string each (repeated headers joined with
// ", ", set-cookie kept as an array), query parameters as one string or,
// when repeated, an array. Either shape is accepted when decoding.
type Handshake struct {
	Headers map[string][]string
	Time    string
	Address string
	XDomain bool
	Secure  bool
	Issued  int64
	URL     string
	Query   map[string][]string
	Auth    map[string]any
}

type wireHandshake struct {
	Headers map[string]any `json:"headers"`
	Time    string         `json:"time"`
	Address string         `json:"address"`
	XDomain bool           `json:"xdomain"`
	Secure  bool           `json:"secure"`
	Issued  int64          `json:"issued"`
	URL     string         `json:"url"`
	Query   map[string]any `json:"query"`
	Auth    map[string]any `json:"auth"`
}

// MarshalJSON writes h in Node's shape.
func (h Handshake) MarshalJSON() ([]byte, error) {
	w := wireHandshake{
		Headers: make(map[string]any, len(h.Headers)),
		Time:    h.Time, Address: h.Address, XDomain: h.XDomain, Secure: h.Secure,
		Issued: h.Issued, URL: h.URL,
		Query: make(map[string]any, len(h.Query)),
		Auth:  h.Auth,
	}
	for k, vs := range h.Headers {
		k = strings.ToLower(k)
		if k == "set-cookie" {
			w.Headers[k] = vs
		} else {
			w.Headers[k] = strings.Join(vs, ", ")
		}
	}
	for k, vs := range h.Query {
		if len(vs) == 1 {
			w.Query[k] = vs[0]
		} else {
			w.Query[k] = vs
		}
	}
	if w.Auth == nil {
		w.Auth = map[string]any{}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads h from Node's shape or from Go's.
func (h *Handshake) UnmarshalJSON(b []byte) error {
	var w wireHandshake
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*h = Handshake{
		Time: w.Time, Address: w.Address, XDomain: w.XDomain, Secure: w.Secure,
		Issued: w.Issued, URL: w.URL, Auth: w.Auth,
		Headers: stringLists(w.Headers, textproto.CanonicalMIMEHeaderKey),
		Query:   stringLists(w.Query, func(s string) string { return s }),
	}
	return nil
}

// stringLists turns {k: "v"} and {k: ["v", "w"]} into {k: ["v"]} and
// {k: ["v", "w"]}; values of other types are skipped.
func stringLists(m map[string]any, key func(string) string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		k = key(k)
		switch x := v.(type) {
		case string:
			out[k] = append(out[k], x)
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok {
					out[k] = append(out[k], s)
				}
			}
		}
	}
	return out
}
