package msgpack

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sio/socketio/internal/jsonrules"
	"github.com/go-sio/socketio/parser"
)

// encoder appends the MessagePack form of Go values to buf, writing what
// notepack.io 2.x writes for the same JavaScript value: integers (and
// floats with an integral value) in their smallest encoding, other numbers
// as float 64, []byte as bin, time.Time as notepack's Date (fixext 8 of
// type 0 holding int64 milliseconds), maps with their keys sorted, structs
// by their `json` tags (see fields.go).
type encoder struct {
	buf []byte
}

var (
	rawType           = reflect.TypeFor[parser.Raw]()
	timeType          = reflect.TypeFor[time.Time]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func (e *encoder) nil() { e.buf = append(e.buf, 0xc0) }

func (e *encoder) bool(b bool) {
	if b {
		e.buf = append(e.buf, 0xc3)
	} else {
		e.buf = append(e.buf, 0xc2)
	}
}

func (e *encoder) uint(u uint64) {
	switch {
	case u < 0x80:
		e.buf = append(e.buf, byte(u))
	case u < 0x100:
		e.buf = append(e.buf, 0xcc, byte(u))
	case u < 0x10000:
		e.buf = append(e.buf, 0xcd, byte(u>>8), byte(u))
	case u < 0x100000000:
		e.buf = append(e.buf, 0xce)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(u))
	default:
		e.buf = append(e.buf, 0xcf)
		e.buf = binary.BigEndian.AppendUint64(e.buf, u)
	}
}

func (e *encoder) int(i int64) {
	switch {
	case i >= 0:
		e.uint(uint64(i))
	case i >= -0x20:
		e.buf = append(e.buf, byte(i))
	case i >= -0x80:
		e.buf = append(e.buf, 0xd0, byte(i))
	case i >= -0x8000:
		e.buf = append(e.buf, 0xd1, byte(i>>8), byte(i))
	case i >= -0x80000000:
		e.buf = append(e.buf, 0xd2)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(i))
	default:
		e.buf = append(e.buf, 0xd3)
		e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(i))
	}
}

// float writes f as JavaScript's notepack does: as an integer when it has
// an integral value (so -0 becomes 0), as a float 64 otherwise. Integral
// values past 64 bits, which notepack mangles, stay float 64.
func (e *encoder) float(f float64) {
	if f == math.Trunc(f) && !math.IsInf(f, 0) {
		switch {
		case f >= 0 && f < 1<<64:
			e.uint(uint64(f))
			return
		case f < 0 && f >= -(1<<63):
			e.int(int64(f))
			return
		}
	}
	bits := math.Float64bits(f)
	if f != f {
		bits = 0x7ff8000000000000 // the NaN JavaScript writes
	}
	e.buf = append(e.buf, 0xcb)
	e.buf = binary.BigEndian.AppendUint64(e.buf, bits)
}

func (e *encoder) header(n int, fix, fixMax byte, code16 byte) {
	switch {
	case n <= int(fixMax):
		e.buf = append(e.buf, fix|byte(n))
	case n < 0x10000:
		e.buf = append(e.buf, code16, byte(n>>8), byte(n))
	default:
		e.buf = append(e.buf, code16+1)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n))
	}
}

func (e *encoder) arrayHeader(n int) { e.header(n, 0x90, 0x0f, 0xdc) }
func (e *encoder) mapHeader(n int)   { e.header(n, 0x80, 0x0f, 0xde) }

func (e *encoder) string(s string) {
	n := len(s)
	switch {
	case n < 0x20:
		e.buf = append(e.buf, 0xa0|byte(n))
	case n < 0x100:
		e.buf = append(e.buf, 0xd9, byte(n))
	case n < 0x10000:
		e.buf = append(e.buf, 0xda, byte(n>>8), byte(n))
	default:
		e.buf = append(e.buf, 0xdb)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n))
	}
	e.buf = append(e.buf, s...)
}

func (e *encoder) bin(b []byte) {
	n := len(b)
	switch {
	case n < 0x100:
		e.buf = append(e.buf, 0xc4, byte(n))
	case n < 0x10000:
		e.buf = append(e.buf, 0xc5, byte(n>>8), byte(n))
	default:
		e.buf = append(e.buf, 0xc6)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n))
	}
	e.buf = append(e.buf, b...)
}

// time writes notepack 2.x's Date: fixext 8 of type 0, int64 milliseconds
// since the epoch. Both notepack 2.x and 3.x decode it as a Date.
func (e *encoder) time(t time.Time) {
	e.buf = append(e.buf, 0xd7, 0x00)
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(t.UnixMilli()))
}

func tooDeep(depth int) error {
	if depth >= maxDepth {
		return fmt.Errorf("socketio: msgpack: value nested %d levels deep (a cycle?)", maxDepth)
	}
	return nil
}

// any writes v at nesting level depth.
func (e *encoder) any(v any, depth int) error {
	switch x := v.(type) {
	case nil:
		e.nil()
	case string:
		e.string(x)
	case bool:
		e.bool(x)
	case int:
		e.int(int64(x))
	case int64:
		e.int(x)
	case int32:
		e.int(int64(x))
	case uint64:
		e.uint(x)
	case uint32:
		e.uint(uint64(x))
	case float64:
		e.float(x)
	case []byte:
		if x == nil {
			e.nil()
		} else {
			e.bin(x)
		}
	case time.Time:
		e.time(x)
	case parser.Raw:
		return e.raw(x, depth)
	case []any:
		if x == nil {
			e.nil()
			return nil
		}
		if err := tooDeep(depth); err != nil {
			return err
		}
		e.arrayHeader(len(x))
		for _, el := range x {
			if err := e.any(el, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		if x == nil {
			e.nil()
			return nil
		}
		if err := tooDeep(depth); err != nil {
			return err
		}
		e.mapHeader(len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e.string(k)
			if err := e.any(x[k], depth+1); err != nil {
				return err
			}
		}
	default:
		return e.value(reflect.ValueOf(v), depth)
	}
	return nil
}

// raw writes a Raw value: its bytes as they are when it comes from this
// codec, its decoded form otherwise.
func (e *encoder) raw(r parser.Raw, depth int) error {
	if r.IsZero() {
		e.nil()
		return nil
	}
	if _, ok := r.Codec().(*Codec); ok {
		e.buf = append(e.buf, r.Bytes()...)
		return nil
	}
	var tree any
	if err := r.Decode(&tree); err != nil {
		return err
	}
	return e.any(tree, depth)
}

func (e *encoder) value(v reflect.Value, depth int) error {
	if !v.IsValid() {
		e.nil()
		return nil
	}
	t := v.Type()
	if !v.CanInterface() {
		return fmt.Errorf("socketio: msgpack: cannot encode unexported value of type %s", t)
	}
	switch t {
	case rawType:
		return e.raw(v.Interface().(parser.Raw), depth)
	case timeType:
		e.time(v.Interface().(time.Time))
		return nil
	}
	if v.Kind() == reflect.Pointer && v.IsNil() {
		e.nil()
		return nil
	}
	if t.Implements(jsonMarshalerType) {
		return e.marshalJSON(v.Interface().(json.Marshaler), depth)
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(jsonMarshalerType) {
		return e.marshalJSON(v.Addr().Interface().(json.Marshaler), depth)
	}
	if t.Implements(textMarshalerType) {
		return e.marshalText(v.Interface().(encoding.TextMarshaler))
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(textMarshalerType) {
		return e.marshalText(v.Addr().Interface().(encoding.TextMarshaler))
	}

	switch v.Kind() {
	case reflect.Bool:
		e.bool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uint(v.Uint())
	case reflect.Float32, reflect.Float64:
		e.float(v.Float())
	case reflect.String:
		if t == numberType {
			return e.jsonNumber(json.Number(v.String()))
		}
		e.string(v.String())
	case reflect.Interface:
		if v.IsNil() {
			e.nil()
			return nil
		}
		return e.value(v.Elem(), depth)
	case reflect.Pointer:
		if err := tooDeep(depth); err != nil {
			return err
		}
		return e.value(v.Elem(), depth+1)
	case reflect.Slice:
		if v.IsNil() {
			e.nil()
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			e.bin(v.Bytes())
			return nil
		}
		return e.array(v, depth)
	case reflect.Array:
		return e.array(v, depth)
	case reflect.Map:
		if v.IsNil() {
			e.nil()
			return nil
		}
		return e.mapValue(v, depth)
	case reflect.Struct:
		return e.structValue(v, depth)
	default:
		return fmt.Errorf("socketio: msgpack: unsupported type %s", t)
	}
	return nil
}

func (e *encoder) array(v reflect.Value, depth int) error {
	if err := tooDeep(depth); err != nil {
		return err
	}
	n := v.Len()
	e.arrayHeader(n)
	for i := range n {
		if err := e.value(v.Index(i), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) mapValue(v reflect.Value, depth int) error {
	if err := tooDeep(depth); err != nil {
		return err
	}
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := mapKeyString(it.Key())
		if err != nil {
			return err
		}
		entries = append(entries, entry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	e.mapHeader(len(entries))
	for _, en := range entries {
		e.string(en.key)
		if err := e.value(en.val, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// mapKeyString returns the key of a map entry as encoding/json writes it.
func mapKeyString(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if k.Type().Implements(textMarshalerType) {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := k.Interface().(encoding.TextMarshaler).MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", fmt.Errorf("socketio: msgpack: unsupported map key type %s", k.Type())
}

func (e *encoder) structValue(v reflect.Value, depth int) error {
	if err := tooDeep(depth); err != nil {
		return err
	}
	info := cachedFields(v.Type())
	type entry struct {
		f *structField
		v reflect.Value
	}
	var stack [16]entry
	entries := stack[:0]
	for i := range info.fields {
		f := &info.fields[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			continue
		}
		if f.omitEmpty && jsonrules.IsEmptyValue(fv) || f.omitZero && isZeroValue(fv) {
			continue
		}
		entries = append(entries, entry{f, fv})
	}
	e.mapHeader(len(entries))
	for _, en := range entries {
		e.string(en.f.name)
		if err := e.value(en.v, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// isZeroValue is the omitzero test of encoding/json: an IsZero method when
// the type has one, the zero value otherwise.
func isZeroValue(v reflect.Value) bool {
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	if v.CanAddr() {
		if z, ok := v.Addr().Interface().(interface{ IsZero() bool }); ok {
			return z.IsZero()
		}
	}
	return v.IsZero()
}

// marshalJSON writes the value a json.Marshaler stands for, so a type with
// its own JSON form travels the same way with both codecs.
func (e *encoder) marshalJSON(m json.Marshaler, depth int) error {
	b, err := m.MarshalJSON()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return fmt.Errorf("socketio: msgpack: MarshalJSON of %T: %w", m, err)
	}
	return e.jsonTree(tree, depth)
}

// jsonTree writes a tree decoded by encoding/json with UseNumber.
func (e *encoder) jsonTree(v any, depth int) error {
	switch x := v.(type) {
	case json.Number:
		return e.jsonNumber(x)
	case []any:
		if err := tooDeep(depth); err != nil {
			return err
		}
		e.arrayHeader(len(x))
		for _, el := range x {
			if err := e.jsonTree(el, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if err := tooDeep(depth); err != nil {
			return err
		}
		e.mapHeader(len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e.string(k)
			if err := e.jsonTree(x[k], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return e.any(v, depth)
}

var numberType = reflect.TypeFor[json.Number]()

func (e *encoder) jsonNumber(n json.Number) error {
	if n == "" {
		n = "0" // as encoding/json
	}
	if i, err := n.Int64(); err == nil {
		e.int(i)
		return nil
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		e.uint(u)
		return nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("socketio: msgpack: invalid number %q", string(n))
	}
	e.float(f)
	return nil
}

func (e *encoder) marshalText(m encoding.TextMarshaler) error {
	b, err := m.MarshalText()
	if err != nil {
		return err
	}
	e.string(string(b))
	return nil
}
