package msgpack

// Marshal returns the MessagePack form of v, written with the rules of
// the codec (see the package documentation): what notepack.io writes for
// the same JavaScript value, structs by their `json` tags. The Redis
// adapters use it for the messages they exchange with other nodes.
func Marshal(v any) ([]byte, error) {
	e := encoder{}
	if err := e.any(v, 1); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// Unmarshal decodes data, which must hold exactly one MessagePack value,
// into v, as Codec.Unmarshal does: a parser.Raw target (or field) keeps
// its value encoded, as a Raw of Default.
func Unmarshal(data []byte, v any) error { return unmarshal(Default, data, v) }
