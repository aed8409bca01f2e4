package msgpack

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/go-sio/socketio/parser"
)

// Unmarshal into typed Go values follows encoding/json: struct fields by
// their `json` tags (case-insensitive match as a fallback), unknown keys
// ignored, nil (and notepack's undefined) setting pointers, maps, slices
// and interfaces to nil and leaving other values alone, numbers checked
// for range, json.Unmarshaler and encoding.TextUnmarshaler honoured.
// Binary values (bin, or notepack 2.x's ArrayBuffer extension) go to
// []byte, Dates (either notepack form) to time.Time, and a value decoded
// into a parser.Raw stays encoded.

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawPtrType          = reflect.TypeFor[*parser.Raw]()
	timePtrType         = reflect.PointerTo(timeType)
)

// TypeError reports a MessagePack value that cannot be stored in a Go
// value of the given type.
type TypeError struct {
	Value string       // the MessagePack kind: "string", "map", "integer 300"...
	Type  reflect.Type // the Go type it could not be stored in
}

func (e *TypeError) Error() string {
	return "socketio: msgpack: cannot decode " + e.Value + " into Go value of type " + e.Type.String()
}

type decodeState struct {
	r reader
	c *Codec
}

// unmarshal decodes data, which must hold exactly one value, into v.
func unmarshal(c *Codec, data []byte, v any) error {
	d := decodeState{r: reader{b: data}, c: c}
	var err error
	fast := true
	if p, ok := v.(*any); ok && p != nil && *p != nil && reflect.TypeOf(*p).Kind() == reflect.Pointer {
		fast = false // decode into the pointer *p holds, as encoding/json
	}
	switch p := v.(type) {
	case *any:
		if !fast {
			err = d.value(reflect.ValueOf(p).Elem(), 1)
			break
		}
		if p == nil {
			return errors.New("socketio: msgpack: Unmarshal(nil *any)")
		}
		var tree any
		if tree, err = d.r.value(1); err == nil {
			*p = tree
		}
	case *parser.Raw:
		if p == nil {
			return errors.New("socketio: msgpack: Unmarshal(nil *parser.Raw)")
		}
		var s []byte
		if s, err = d.r.span(1); err == nil {
			*p = parser.NewRaw(c, s, nil)
		}
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Pointer || rv.IsNil() {
			return fmt.Errorf("socketio: msgpack: Unmarshal(non-pointer or nil %T)", v)
		}
		err = d.value(rv.Elem(), 1)
	}
	if err == nil && d.r.left() > 0 {
		err = fmt.Errorf("%d trailing bytes", d.r.left())
	}
	if err != nil {
		var te *TypeError
		if errors.As(err, &te) {
			return err
		}
		return fmt.Errorf("socketio: msgpack: %w", err)
	}
	return nil
}

// value decodes the next value into v (settable) at nesting level depth.
func (d *decodeState) value(v reflect.Value, depth int) error {
	start := d.r.i
	t, err := d.r.next()
	if err != nil {
		return err
	}
	null := t.kind == kindNil || t.isUndefined()

	// Walk pointers (and interfaces holding pointers), allocating them, to
	// the value to fill, stopping at a type with its own decoding.
	for {
		if v.Kind() == reflect.Interface && !v.IsNil() && !null {
			if e := v.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() {
				v = e
			}
		}
		if v.Kind() != reflect.Pointer {
			break
		}
		if null {
			if v.CanSet() {
				v.SetZero()
			}
			return nil
		}
		if v.IsNil() {
			if !v.CanSet() {
				return fmt.Errorf("cannot set a nil pointer of type %s", v.Type())
			}
			v.Set(reflect.New(v.Type().Elem()))
		}
		if done, err := d.special(v, t, start, depth); done {
			return err
		}
		v = v.Elem()
	}
	if v.CanAddr() {
		if done, err := d.special(v.Addr(), t, start, depth); done {
			return err
		}
	}

	if null {
		switch v.Kind() {
		case reflect.Interface, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return nil
	}

	switch v.Kind() {
	case reflect.Interface:
		if v.NumMethod() != 0 {
			return d.typeError(t, v.Type())
		}
		d.r.i = start
		tree, err := d.r.value(depth)
		if err != nil {
			return err
		}
		if tree == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(tree))
		}
		return nil
	case reflect.Bool:
		if t.kind != kindBool {
			return d.typeError(t, v.Type())
		}
		v.SetBool(t.b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, big, ok := t.integral()
		if !ok || big != 0 || v.OverflowInt(i) {
			return d.typeError(t, v.Type())
		}
		v.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		i, big, ok := t.integral()
		u := big
		if big == 0 {
			if i < 0 {
				ok = false
			}
			u = uint64(i)
		}
		if !ok || v.OverflowUint(u) {
			return d.typeError(t, v.Type())
		}
		v.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		switch t.kind {
		case kindInt:
			f = float64(t.i)
		case kindUint:
			f = float64(t.u)
		case kindFloat:
			f = t.f
		default:
			return d.typeError(t, v.Type())
		}
		if v.Kind() == reflect.Float32 && !math.IsInf(f, 0) && !math.IsNaN(f) && v.OverflowFloat(f) {
			return d.typeError(t, v.Type())
		}
		v.SetFloat(f)
		return nil
	case reflect.String:
		switch {
		case t.kind == kindStr || t.kind == kindBin:
			v.SetString(string(t.data))
		case v.Type() == numberType && (t.kind == kindInt || t.kind == kindUint || t.kind == kindFloat):
			v.SetString(numberString(t))
		default:
			return d.typeError(t, v.Type())
		}
		return nil
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if b, ok := binaryOf(t); ok {
				v.SetBytes(bytes.Clone(b))
				return nil
			}
			if t.kind == kindStr {
				v.SetBytes([]byte(string(t.data)))
				return nil
			}
		}
		if t.kind != kindArray {
			return d.typeError(t, v.Type())
		}
		if depth >= maxDepth {
			return errTooDeep
		}
		s := reflect.MakeSlice(v.Type(), t.n, t.n)
		for i := range t.n {
			if err := d.value(s.Index(i), depth+1); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if b, ok := binaryOf(t); ok {
				v.SetZero()
				reflect.Copy(v, reflect.ValueOf(b))
				return nil
			}
		}
		if t.kind != kindArray {
			return d.typeError(t, v.Type())
		}
		if depth >= maxDepth {
			return errTooDeep
		}
		for i := range t.n {
			if i < v.Len() {
				if err := d.value(v.Index(i), depth+1); err != nil {
					return err
				}
			} else if err := d.r.skip(depth + 1); err != nil {
				return err
			}
		}
		for i := t.n; i < v.Len(); i++ {
			v.Index(i).SetZero()
		}
		return nil
	case reflect.Map:
		if t.kind != kindMap {
			return d.typeError(t, v.Type())
		}
		return d.mapValue(v, t, depth)
	case reflect.Struct:
		if t.kind != kindMap {
			return d.typeError(t, v.Type())
		}
		return d.structValue(v, t, depth)
	}
	return d.typeError(t, v.Type())
}

// special handles the types that decode themselves, given a pointer p to
// the value to fill. done is false when p's type has no such decoding.
func (d *decodeState) special(p reflect.Value, t token, start, depth int) (done bool, err error) {
	switch p.Type() {
	case rawPtrType:
		if err := d.r.skipBody(t, depth); err != nil {
			return true, err
		}
		p.Elem().Set(reflect.ValueOf(parser.NewRaw(d.c, d.r.b[start:d.r.i:d.r.i], nil)))
		return true, nil
	case timePtrType:
		if t.kind == kindNil || t.isUndefined() {
			return true, nil
		}
		if tm, ok := dateOf(t); ok {
			p.Elem().Set(reflect.ValueOf(tm))
			return true, nil
		}
		if t.kind != kindStr { // a string goes to UnmarshalText below
			return true, d.typeError(t, timeType)
		}
	}
	if !p.CanInterface() {
		return false, nil
	}
	if p.Type().Implements(jsonUnmarshalerType) {
		d.r.i = start
		tree, err := d.r.value(depth)
		if err != nil {
			return true, err
		}
		b, err := json.Marshal(tree)
		if err != nil {
			return true, err
		}
		return true, p.Interface().(json.Unmarshaler).UnmarshalJSON(b)
	}
	if p.Type().Implements(textUnmarshalerType) {
		if t.kind == kindNil || t.isUndefined() {
			return false, nil
		}
		if t.kind != kindStr && t.kind != kindBin {
			return true, d.typeError(t, p.Type().Elem())
		}
		return true, p.Interface().(encoding.TextUnmarshaler).UnmarshalText(t.data)
	}
	return false, nil
}

func (d *decodeState) mapValue(v reflect.Value, t token, depth int) error {
	if depth >= maxDepth {
		return errTooDeep
	}
	mt := v.Type()
	kt := mt.Key()
	textKey := reflect.PointerTo(kt).Implements(textUnmarshalerType)
	switch kt.Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		if !textKey {
			return d.typeError(t, mt)
		}
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(mt, t.n))
	}
	elem := reflect.New(mt.Elem()).Elem()
	for range t.n {
		k, err := d.r.key()
		if err != nil {
			return err
		}
		key := reflect.New(kt).Elem()
		switch {
		case kt.Kind() == reflect.String && !textKey:
			key.SetString(k)
		case textKey:
			if err := key.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(k)); err != nil {
				return err
			}
		case key.CanInt():
			n, err := strconv.ParseInt(k, 10, 64)
			if err != nil || key.OverflowInt(n) {
				return &TypeError{Value: "map key " + strconv.Quote(k), Type: kt}
			}
			key.SetInt(n)
		default:
			n, err := strconv.ParseUint(k, 10, 64)
			if err != nil || key.OverflowUint(n) {
				return &TypeError{Value: "map key " + strconv.Quote(k), Type: kt}
			}
			key.SetUint(n)
		}
		elem.SetZero()
		if err := d.value(elem, depth+1); err != nil {
			return err
		}
		v.SetMapIndex(key, elem)
	}
	return nil
}

func (d *decodeState) structValue(v reflect.Value, t token, depth int) error {
	if depth >= maxDepth {
		return errTooDeep
	}
	info := cachedFields(v.Type())
	for range t.n {
		k, err := d.r.key()
		if err != nil {
			return err
		}
		f := info.lookup(k)
		if f == nil {
			if err := d.r.skip(depth + 1); err != nil {
				return err
			}
			continue
		}
		fv, err := settableField(v, f.index)
		if err != nil {
			return err
		}
		if err := d.value(fv, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// settableField returns the field of v at index, allocating the embedded
// pointers on the way.
func settableField(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, fmt.Errorf("cannot set embedded pointer to unexported struct %s", v.Type().Elem())
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

func (d *decodeState) typeError(t token, typ reflect.Type) error {
	desc := t.kind.String()
	switch t.kind {
	case kindInt, kindUint, kindFloat:
		desc = "number " + numberString(t)
	case kindExt:
		desc = fmt.Sprintf("extension of type %d", t.ext)
	}
	return &TypeError{Value: desc, Type: typ}
}

// numberString is the decimal form of a number token.
func numberString(t token) string {
	switch t.kind {
	case kindInt:
		return strconv.FormatInt(t.i, 10)
	case kindUint:
		return strconv.FormatUint(t.u, 10)
	}
	return strconv.FormatFloat(t.f, 'g', -1, 64)
}
