package msgpack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// maxDepth bounds the nesting of arrays and maps: counting the packet's
// own map as level 1, an array or map at level maxDepth or deeper is
// refused, by the decoder before anything recurses on it and by the
// encoder (so what it writes always decodes).
const maxDepth = 1000

// kind is the class of a MessagePack value.
type kind uint8

const (
	kindNil kind = iota
	kindBool
	kindInt   // every integer that fits an int64
	kindUint  // an unsigned integer above math.MaxInt64
	kindFloat // float 32 or float 64
	kindStr
	kindBin
	kindArray
	kindMap
	kindExt
)

var kindNames = [...]string{"nil", "bool", "integer", "integer", "float", "string", "binary", "array", "map", "extension"}

func (k kind) String() string { return kindNames[k] }

// Extension types of notepack.io.
const (
	extNotepack  = 0  // 2.x: undefined (fixext 1), Date (fixext 8), ArrayBuffer (ext 8/16/32)
	extTimestamp = -1 // the standard timestamp extension (notepack.io 3.x Date)
)

// token is the head of one MessagePack value. For strings, binaries and
// extensions the payload is included; for arrays and maps only the header
// is, and n is the number of elements (or of key-value pairs).
type token struct {
	kind kind
	code byte   // the first byte
	n    int    // elements of an array, pairs of a map, payload length
	ext  int8   // extension type
	data []byte // payload of a string, binary or extension (a slice of the input)
	i    int64
	u    uint64
	f    float64
	b    bool
}

var (
	errTruncated = errors.New("truncated input")
	errTooDeep   = fmt.Errorf("nesting deeper than %d", maxDepth)
)

// reader reads MessagePack values from b. Every length is checked against
// what is left of the input before it is used, so nothing is allocated
// beyond what the input justifies.
type reader struct {
	b []byte
	i int
}

func (r *reader) left() int { return len(r.b) - r.i }

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, errTruncated
	}
	s := r.b[r.i : r.i+n : r.i+n]
	r.i += n
	return s, nil
}

// length reads a big-endian unsigned length of size bytes.
func (r *reader) length(size int) (int, error) {
	s, err := r.take(size)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, c := range s {
		n = n<<8 | uint64(c)
	}
	if n > uint64(r.left()) {
		return 0, errTruncated
	}
	return int(n), nil
}

// next reads the head of the next value.
func (r *reader) next() (token, error) {
	if r.i >= len(r.b) {
		return token{}, errTruncated
	}
	c := r.b[r.i]
	r.i++
	t := token{code: c}
	switch {
	case c <= 0x7f:
		t.kind, t.i = kindInt, int64(c)
		return t, nil
	case c <= 0x8f:
		t.kind, t.n = kindMap, int(c&0x0f)
		return t, r.checkCount(t)
	case c <= 0x9f:
		t.kind, t.n = kindArray, int(c&0x0f)
		return t, r.checkCount(t)
	case c <= 0xbf:
		t.kind = kindStr
		var err error
		t.data, err = r.take(int(c & 0x1f))
		return t, err
	case c >= 0xe0:
		t.kind, t.i = kindInt, int64(int8(c))
		return t, nil
	}
	var err error
	switch c {
	case 0xc0:
		t.kind = kindNil
	case 0xc2, 0xc3:
		t.kind, t.b = kindBool, c == 0xc3
	case 0xc4, 0xc5, 0xc6: // bin 8/16/32
		t.kind = kindBin
		if t.n, err = r.length(1 << (c - 0xc4)); err == nil {
			t.data, err = r.take(t.n)
		}
	case 0xc7, 0xc8, 0xc9: // ext 8/16/32
		t.kind = kindExt
		if t.n, err = r.length(1 << (c - 0xc7)); err == nil {
			var typ []byte
			if typ, err = r.take(1); err == nil {
				t.ext = int8(typ[0])
				t.data, err = r.take(t.n)
			}
		}
	case 0xca:
		var s []byte
		if s, err = r.take(4); err == nil {
			t.kind, t.f = kindFloat, float64(math.Float32frombits(binary.BigEndian.Uint32(s)))
		}
	case 0xcb:
		var s []byte
		if s, err = r.take(8); err == nil {
			t.kind, t.f = kindFloat, math.Float64frombits(binary.BigEndian.Uint64(s))
		}
	case 0xcc, 0xcd, 0xce, 0xcf: // uint 8/16/32/64
		var s []byte
		if s, err = r.take(1 << (c - 0xcc)); err == nil {
			var u uint64
			for _, b := range s {
				u = u<<8 | uint64(b)
			}
			if u > math.MaxInt64 {
				t.kind, t.u = kindUint, u
			} else {
				t.kind, t.i = kindInt, int64(u)
			}
		}
	case 0xd0, 0xd1, 0xd2, 0xd3: // int 8/16/32/64
		var s []byte
		if s, err = r.take(1 << (c - 0xd0)); err == nil {
			var u uint64
			for _, b := range s {
				u = u<<8 | uint64(b)
			}
			shift := 64 - 8*uint(len(s))
			t.kind, t.i = kindInt, int64(u<<shift)>>shift
		}
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16
		var s []byte
		if s, err = r.take(1); err == nil {
			t.kind, t.ext, t.n = kindExt, int8(s[0]), 1<<(c-0xd4)
			t.data, err = r.take(t.n)
		}
	case 0xd9, 0xda, 0xdb: // str 8/16/32
		t.kind = kindStr
		if t.n, err = r.length(1 << (c - 0xd9)); err == nil {
			t.data, err = r.take(t.n)
		}
	case 0xdc, 0xdd: // array 16/32
		t.kind = kindArray
		if t.n, err = r.length(2 << (c - 0xdc)); err == nil {
			err = r.checkCount(t)
		}
	case 0xde, 0xdf: // map 16/32
		t.kind = kindMap
		if t.n, err = r.length(2 << (c - 0xde)); err == nil {
			err = r.checkCount(t)
		}
	default: // 0xc1, never used
		return t, fmt.Errorf("invalid code 0x%02x", c)
	}
	return t, err
}

// checkCount refuses an array or map announcing more elements than bytes
// are left (each element takes at least one byte).
func (r *reader) checkCount(t token) error {
	need := uint64(t.n)
	if t.kind == kindMap {
		need *= 2
	}
	if need > uint64(r.left()) {
		return errTruncated
	}
	return nil
}

// skip reads past one complete value at nesting level depth.
func (r *reader) skip(depth int) error {
	t, err := r.next()
	if err != nil {
		return err
	}
	return r.skipBody(t, depth)
}

// skipBody reads past the elements of t, whose head was just read.
func (r *reader) skipBody(t token, depth int) error {
	n := t.n
	switch t.kind {
	case kindMap:
		n *= 2
	case kindArray:
	default:
		return nil
	}
	if depth >= maxDepth {
		return errTooDeep
	}
	for ; n > 0; n-- {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// span reads past one value and returns its bytes.
func (r *reader) span(depth int) ([]byte, error) {
	start := r.i
	if err := r.skip(depth); err != nil {
		return nil, err
	}
	return r.b[start:r.i:r.i], nil
}

// isUndefined reports whether t is notepack 2.x's undefined (fixext 1 of
// type 0; the data byte is ignored, as notepack does).
func (t token) isUndefined() bool {
	return t.kind == kindExt && t.code == 0xd4 && t.ext == extNotepack
}

// integral returns the value of a number token as an integer when it is
// one (JavaScript's Number.isInteger), with ok false otherwise. Integers
// above MaxInt64 are reported through big.
func (t token) integral() (v int64, big uint64, ok bool) {
	switch t.kind {
	case kindInt:
		return t.i, 0, true
	case kindUint:
		return 0, t.u, true
	case kindFloat:
		f := t.f
		if f != math.Trunc(f) || math.IsInf(f, 0) {
			return 0, 0, false
		}
		if f >= -(1<<63) && f < 1<<63 {
			return int64(f), 0, true
		}
		if f >= 0 && f < 1<<64 {
			return 0, uint64(f), true
		}
		return 0, 0, false // an integer, but past 64 bits
	}
	return 0, 0, false
}
