package e2e

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/go-sio/socketio/parser"
)

// Values cross between Go, JSON commands and Node as plain JSON. Binary
// values are written {"$bin":"<hex>"} on the Node side (e2e/node/cluster/
// lib.js); tag does the same for Go values so that both compare equal.

// tag returns v with every []byte replaced by {"$bin": hex}, recursively
// through slices and maps of generic values, parser.Raw values decoded.
func tag(v any) any {
	switch x := v.(type) {
	case parser.Raw:
		// a value still encoded (the Go side hands remote arguments over
		// this way): decode it as a handler would
		var d any
		if err := x.Decode(&d); err != nil {
			return fmt.Sprintf("<undecodable %s: %v>", x, err)
		}
		return tag(d)
	case []byte:
		return map[string]any{"$bin": hex.EncodeToString(x)}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tag(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = tag(e)
		}
		return out
	default:
		return v
	}
}

// generic turns v into the generic JSON value it encodes to (maps,
// slices, float64...), binary tagged.
func generic(v any) any {
	b, err := json.Marshal(tag(v))
	if err != nil {
		return fmt.Sprintf("<unmarshalable %T: %v>", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return out
}

// canon is a canonical JSON text of v (object keys sorted), to compare
// values from either side.
func canon(v any) string {
	b, err := json.Marshal(generic(v))
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func sameSet(a, b []string) bool { return slices.Equal(sorted(a), sorted(b)) }

func strs(v any) []string {
	xs, _ := v.([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func field(v any, key string) any {
	m, _ := v.(map[string]any)
	return m[key]
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func join(s []string) string { return "[" + strings.Join(s, " ") + "]" }
