package msgpack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// value decodes the next value into the generic Go form: nil, bool, int64
// (uint64 above math.MaxInt64), float64, string, []byte, time.Time,
// []any and map[string]any. Extensions follow notepack.io:
//
//   - fixext 1 of type 0 is undefined: nil;
//   - fixext 8 of type 0 is a Date of notepack 2.x (int64 milliseconds);
//   - ext 8/16/32 of type 0 is an ArrayBuffer of notepack 2.x: []byte;
//   - type -1 is the standard timestamp (notepack 3.x Date);
//   - any other extension is []any{int64(type), []byte(data)}, the
//     [type, Buffer] pair notepack decodes it to.
func (r *reader) value(depth int) (any, error) {
	t, err := r.next()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case kindNil:
		return nil, nil
	case kindBool:
		return t.b, nil
	case kindInt:
		return t.i, nil
	case kindUint:
		return t.u, nil
	case kindFloat:
		return t.f, nil
	case kindStr:
		return string(t.data), nil
	case kindBin:
		return bytes.Clone(t.data), nil
	case kindExt:
		return extValue(t), nil
	case kindArray:
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		a := make([]any, t.n)
		for i := range a {
			if a[i], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return a, nil
	default: // kindMap
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		m := make(map[string]any, t.n)
		for range t.n {
			k, err := r.key()
			if err != nil {
				return nil, err
			}
			if m[k], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
}

// key reads a map key and returns the property name JavaScript makes of it
// (numbers, booleans and null are converted to their string form).
func (r *reader) key() (string, error) {
	t, err := r.next()
	if err != nil {
		return "", err
	}
	switch t.kind {
	case kindStr, kindBin:
		return string(t.data), nil
	case kindInt:
		return strconv.FormatInt(t.i, 10), nil
	case kindUint:
		return jsNumber(float64(t.u)), nil
	case kindFloat:
		return jsNumber(t.f), nil
	case kindBool:
		return strconv.FormatBool(t.b), nil
	case kindNil:
		return "null", nil
	}
	if t.isUndefined() {
		return "undefined", nil
	}
	return "", fmt.Errorf("unsupported map key of type %s", t.kind)
}

// extValue interprets an extension as notepack.io does.
func extValue(t token) any {
	switch t.ext {
	case extNotepack:
		switch t.code {
		case 0xd4: // undefined
			return nil
		case 0xd7: // Date, int64 milliseconds
			return time.UnixMilli(int64(binary.BigEndian.Uint64(t.data))).UTC()
		case 0xc7, 0xc8, 0xc9: // ArrayBuffer
			return bytes.Clone(t.data)
		}
	case extTimestamp:
		if tm, ok := timestamp(t); ok {
			return tm
		}
	}
	return []any{int64(t.ext), bytes.Clone(t.data)}
}

// timestamp decodes the standard timestamp extension (32, 64 and 96 bits).
func timestamp(t token) (time.Time, bool) {
	switch {
	case t.code == 0xd6:
		return time.Unix(int64(binary.BigEndian.Uint32(t.data)), 0).UTC(), true
	case t.code == 0xd7:
		v := binary.BigEndian.Uint64(t.data)
		return time.Unix(int64(v&(1<<34-1)), int64(v>>34)).UTC(), true
	case t.code == 0xc7 && len(t.data) == 12:
		nsec := binary.BigEndian.Uint32(t.data)
		sec := int64(binary.BigEndian.Uint64(t.data[4:]))
		return time.Unix(sec, int64(nsec)).UTC(), true
	}
	return time.Time{}, false
}

// dateOf returns the time a Date extension (either notepack form) holds.
func dateOf(t token) (time.Time, bool) {
	if t.kind != kindExt {
		return time.Time{}, false
	}
	if t.ext == extNotepack && t.code == 0xd7 {
		return time.UnixMilli(int64(binary.BigEndian.Uint64(t.data))).UTC(), true
	}
	if t.ext == extTimestamp {
		return timestamp(t)
	}
	return time.Time{}, false
}

// binaryOf returns the bytes of a binary value: bin, or the ArrayBuffer
// extension of notepack 2.x.
func binaryOf(t token) ([]byte, bool) {
	switch {
	case t.kind == kindBin:
		return t.data, true
	case t.kind == kindExt && t.ext == extNotepack && t.code >= 0xc7 && t.code <= 0xc9:
		return t.data, true
	}
	return nil, false
}

// jsNumber formats f as JavaScript's String(number) does.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1.5e-07, 1e+21
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[:1]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + sign + exp
}
