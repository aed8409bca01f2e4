package parser

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-sio/socketio/internal/jsonrules"
)

// placeholder stands for a binary attachment in the JSON of a packet.
type placeholder struct {
	Placeholder bool `json:"_placeholder"`
	Num         int  `json:"num"`
}

// reconstruct replaces the placeholder objects of a decoded JSON tree with
// their attachments, failing on a placeholder that names none.
func reconstruct(v any, atts [][]byte) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if x["_placeholder"] == true {
			n, ok := x["num"].(float64)
			if num, isNumber := x["num"].(json.Number); isNumber {
				f, err := num.Float64()
				n, ok = f, err == nil
			}
			if !ok || n < 0 || n >= float64(len(atts)) || n != float64(int(n)) {
				return nil, invalid("illegal attachments")
			}
			return atts[int(n)], nil
		}
		for k, e := range x {
			r, err := reconstruct(e, atts)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, err := reconstruct(e, atts)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	}
	return v, nil
}

var (
	bytesType     = reflect.TypeFor[[]byte]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
	mayBinCache   sync.Map // reflect.Type -> bool
)

// mayHoldBinary reports whether a value of type t can contain a []byte that
// would travel as an attachment.
func mayHoldBinary(t reflect.Type) bool {
	if v, ok := mayBinCache.Load(t); ok {
		return v.(bool)
	}
	mayBinCache.Store(t, false) // breaks recursion on recursive types
	r := computeMayHoldBinary(t)
	mayBinCache.Store(t, r)
	return r
}

func computeMayHoldBinary(t reflect.Type) bool {
	// A marshaler first: json.RawMessage is a []byte that is JSON text.
	if t.Implements(marshalerType) || t.Implements(textType) {
		return false
	}
	if t == bytesType || t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
		return true
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return mayHoldBinary(t.Elem())
	case reflect.Map:
		return mayHoldBinary(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.IsExported() && f.Tag.Get("json") != "-" && mayHoldBinary(f.Type) {
				return true
			}
		}
	}
	return false
}

// hasBinary reports whether v contains a []byte (at any depth).
func (c *JSON) hasBinary(v any) bool {
	switch x := v.(type) {
	case nil, string, bool, int, int64, float64, json.RawMessage:
		return false
	case []byte:
		return x != nil // a nil slice is null, as encoding/json writes it
	case Raw:
		return len(x.attachments) > 0 && mayHavePlaceholder(x.data) || x.codec != nil && !isJSON(x.codec)
	case []any:
		for _, e := range x {
			if c.hasBinary(e) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, e := range x {
			if c.hasBinary(e) {
				return true
			}
		}
		return false
	}
	return c.valueHasBinary(reflect.ValueOf(v))
}

func (c *JSON) valueHasBinary(v reflect.Value) bool {
	if !v.IsValid() || !mayHoldBinary(v.Type()) {
		return false
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return false
		}
		if v.Kind() == reflect.Interface {
			return c.hasBinary(v.Elem().Interface())
		}
		return c.valueHasBinary(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return !v.IsNil()
		}
		fallthrough
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if c.valueHasBinary(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if c.valueHasBinary(it.Value()) {
				return true
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if f.IsExported() && f.Tag.Get("json") != "-" && c.valueHasBinary(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

// deconstruct returns v with every []byte replaced by a placeholder and
// appended to atts, in a form encoding/json writes as the reference does.
func (c *JSON) deconstruct(v any, atts *[][]byte) (any, error) {
	switch x := v.(type) {
	case nil, string, bool, int, int64, float64, json.RawMessage:
		return v, nil
	case []byte:
		if x == nil {
			return nil, nil
		}
		// The same slice twice (a relayed packet whose placeholders name
		// one attachment many times) travels once: one copy per
		// placeholder would let a client amplify what it sends.
		for i, a := range *atts {
			if len(a) == len(x) && (len(x) == 0 || &a[0] == &x[0]) {
				return placeholder{Placeholder: true, Num: i}, nil
			}
		}
		*atts = append(*atts, x)
		return placeholder{Placeholder: true, Num: len(*atts) - 1}, nil
	case Raw:
		if !c.hasBinary(x) {
			return x, nil
		}
		tree, err := c.decodeTree(x)
		if err != nil {
			return nil, err
		}
		if isJSON(x.codec) && !c.hasBinary(tree) {
			return x, nil // no binary value after all: relay it as is
		}
		return c.deconstruct(tree, atts)
	}
	return c.deconstructValue(reflect.ValueOf(v), atts)
}

func (c *JSON) deconstructValue(v reflect.Value, atts *[][]byte) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	if !mayHoldBinary(v.Type()) {
		return v.Interface(), nil
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil, nil
		}
		if v.Kind() == reflect.Interface {
			return c.deconstruct(v.Elem().Interface(), atts)
		}
		return c.deconstructValue(v.Elem(), atts)
	case reflect.Slice:
		if v.IsNil() {
			return nil, nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return c.deconstruct(v.Bytes(), atts)
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			e, err := c.deconstructValue(v.Index(i), atts)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		if v.IsNil() {
			return nil, nil
		}
		if v.Type().Key().Kind() != reflect.String {
			return v.Interface(), nil // encoding/json rules apply unchanged
		}
		// Visit the keys in the order encoding/json writes them, so that
		// placeholders are numbered in the order they appear.
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		out := make(map[string]any, len(keys))
		for _, k := range keys {
			e, err := c.deconstructValue(v.MapIndex(k), atts)
			if err != nil {
				return nil, err
			}
			out[k.String()] = e
		}
		return out, nil
	case reflect.Struct:
		var obj object
		if err := c.structFields(v, atts, &obj); err != nil {
			return nil, err
		}
		return obj, nil
	}
	return v.Interface(), nil
}

// structFields adds the JSON fields of struct v to obj, following the
// encoding/json tag rules that matter here: name, omitempty, "-" and
// embedded structs.
func (c *JSON) structFields(v reflect.Value, atts *[][]byte, obj *object) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				ft, fv = ft.Elem(), fv.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := c.structFields(fv, atts, obj); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(opts, "omitempty") && jsonrules.IsEmptyValue(fv) {
			continue
		}
		e, err := c.deconstructValue(fv, atts)
		if err != nil {
			return err
		}
		*obj = append(*obj, field{name, e})
	}
	return nil
}

// object is a JSON object whose keys keep their order.
type object []field

type field struct {
	key string
	val any
}

func (o object) MarshalJSON() ([]byte, error) {
	dst := []byte{'{'}
	for i, f := range o {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.key)
		dst = append(dst, ':')
		var err error
		if dst, err = Default.appendValue(dst, f.val); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendJSONString appends s as a JSON string the way JSON.stringify
// writes it (no HTML escaping); invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
