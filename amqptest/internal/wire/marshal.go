package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Marshal returns the AMQP encoding of v (see the type table in types.go).
func Marshal(v any) ([]byte, error) { return Append(nil, v) }

// Append appends the AMQP encoding of v to buf, in the smallest form that
// holds it.
func Append(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(buf, codeNull), nil
	case bool:
		if v {
			return append(buf, codeTrue), nil
		}
		return append(buf, codeFalse), nil
	case uint8:
		return append(buf, codeUbyte, v), nil
	case uint16:
		return binary.BigEndian.AppendUint16(append(buf, codeUshort), v), nil
	case uint32:
		switch {
		case v == 0:
			return append(buf, codeUint0), nil
		case v < 256:
			return append(buf, codeSmallUint, byte(v)), nil
		}
		return binary.BigEndian.AppendUint32(append(buf, codeUint), v), nil
	case uint64:
		switch {
		case v == 0:
			return append(buf, codeUlong0), nil
		case v < 256:
			return append(buf, codeSmallUlong, byte(v)), nil
		}
		return binary.BigEndian.AppendUint64(append(buf, codeUlong), v), nil
	case int8:
		return append(buf, codeByte, byte(v)), nil
	case int16:
		return binary.BigEndian.AppendUint16(append(buf, codeShort), uint16(v)), nil
	case int32:
		if v >= math.MinInt8 && v <= math.MaxInt8 {
			return append(buf, codeSmallInt, byte(int8(v))), nil
		}
		return binary.BigEndian.AppendUint32(append(buf, codeInt), uint32(v)), nil
	case int64:
		if v >= math.MinInt8 && v <= math.MaxInt8 {
			return append(buf, codeSmallLong, byte(int8(v))), nil
		}
		return binary.BigEndian.AppendUint64(append(buf, codeLong), uint64(v)), nil
	case int:
		return Append(buf, int64(v))
	case float32:
		return binary.BigEndian.AppendUint32(append(buf, codeFloat), math.Float32bits(v)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(buf, codeDouble), math.Float64bits(v)), nil
	case Decimal32:
		return append(append(buf, codeDecimal32), v[:]...), nil
	case Decimal64:
		return append(append(buf, codeDecimal64), v[:]...), nil
	case Decimal128:
		return append(append(buf, codeDecimal128), v[:]...), nil
	case Char:
		return binary.BigEndian.AppendUint32(append(buf, codeChar), uint32(v)), nil
	case time.Time:
		return binary.BigEndian.AppendUint64(append(buf, codeTimestamp), uint64(v.UnixMilli())), nil
	case UUID:
		return append(append(buf, codeUUID), v[:]...), nil
	case []byte:
		return appendVariable(buf, codeVbin8, codeVbin32, v), nil
	case string:
		return appendVariable(buf, codeStr8, codeStr32, []byte(v)), nil
	case Symbol:
		return appendVariable(buf, codeSym8, codeSym32, []byte(v)), nil
	case []any:
		return appendList(buf, v)
	case *Map:
		return appendMap(buf, v)
	case *Array:
		return appendArray(buf, v)
	case *Described:
		buf = append(buf, codeDescribed)
		var err error
		switch d := v.Descriptor.(type) {
		case uint64:
			buf, err = Append(buf, d)
		case Symbol:
			buf, err = Append(buf, d)
		default:
			return buf, fmt.Errorf("wire: descriptor of type %T; want uint64 or Symbol", v.Descriptor)
		}
		if err != nil {
			return buf, err
		}
		return Append(buf, v.Value)
	case []Symbol:
		a := &Array{Constructor: codeSym32, Elems: make([]any, len(v))}
		for i, s := range v {
			a.Elems[i] = s
		}
		return appendArray(buf, a)
	case []string:
		a := &Array{Constructor: codeStr32, Elems: make([]any, len(v))}
		for i, s := range v {
			a.Elems[i] = s
		}
		return appendArray(buf, a)
	}
	return buf, fmt.Errorf("wire: cannot encode a %T", v)
}

func appendVariable(buf []byte, code8, code32 byte, b []byte) []byte {
	if len(b) <= math.MaxUint8 {
		buf = append(buf, code8, byte(len(b)))
	} else {
		buf = binary.BigEndian.AppendUint32(append(buf, code32), uint32(len(b)))
	}
	return append(buf, b...)
}

// appendCompound writes a list or map: the items are encoded first, then the
// narrow or wide header is put in front.
func appendCompound(buf []byte, code8, code32 byte, count int, items func([]byte) ([]byte, error)) ([]byte, error) {
	body, err := items(nil)
	if err != nil {
		return buf, err
	}
	if len(body)+1 <= math.MaxUint8 && count <= math.MaxUint8 {
		buf = append(buf, code8, byte(len(body)+1), byte(count))
	} else {
		buf = append(buf, code32)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)+4))
		buf = binary.BigEndian.AppendUint32(buf, uint32(count))
	}
	return append(buf, body...), nil
}

func appendList(buf []byte, l []any) ([]byte, error) {
	if len(l) == 0 {
		return append(buf, codeList0), nil
	}
	return appendCompound(buf, codeList8, codeList32, len(l), func(b []byte) ([]byte, error) {
		var err error
		for _, v := range l {
			if b, err = Append(b, v); err != nil {
				return b, err
			}
		}
		return b, nil
	})
}

func appendMap(buf []byte, m *Map) ([]byte, error) {
	if m == nil {
		return append(buf, codeNull), nil
	}
	return appendCompound(buf, codeMap8, codeMap32, 2*len(m.Entries), func(b []byte) ([]byte, error) {
		var err error
		for _, e := range m.Entries {
			if b, err = Append(b, e.Key); err != nil {
				return b, err
			}
			if b, err = Append(b, e.Value); err != nil {
				return b, err
			}
		}
		return b, nil
	})
}

// appendArray writes an array. Elements use the fixed-width form of the
// array's constructor (an empty array of unknown type is an array of sym8).
func appendArray(buf []byte, a *Array) ([]byte, error) {
	if a == nil {
		return append(buf, codeNull), nil
	}
	code := a.Constructor
	if code == 0 {
		code = codeSym8
		if len(a.Elems) > 0 {
			c, err := arrayCode(a.Elems[0])
			if err != nil {
				return buf, err
			}
			code = c
		}
	}
	var ctor []byte
	if a.Descriptor != nil {
		var err error
		ctor, err = Append([]byte{codeDescribed}, a.Descriptor)
		if err != nil {
			return buf, err
		}
	}
	ctor = append(ctor, code)
	var body []byte
	for _, e := range a.Elems {
		var err error
		if body, err = appendElement(body, code, e); err != nil {
			return buf, err
		}
	}
	size := len(ctor) + len(body)
	if size+1 <= math.MaxUint8 && len(a.Elems) <= math.MaxUint8 {
		buf = append(buf, codeArray8, byte(size+1), byte(len(a.Elems)))
	} else {
		buf = append(buf, codeArray32)
		buf = binary.BigEndian.AppendUint32(buf, uint32(size+4))
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(a.Elems)))
	}
	return append(append(buf, ctor...), body...), nil
}

// arrayCode is the constructor an array whose first element is v gets: the wide
// form, so every element fits.
func arrayCode(v any) (byte, error) {
	switch v.(type) {
	case bool:
		return codeBool, nil
	case uint8:
		return codeUbyte, nil
	case uint16:
		return codeUshort, nil
	case uint32:
		return codeUint, nil
	case uint64:
		return codeUlong, nil
	case int8:
		return codeByte, nil
	case int16:
		return codeShort, nil
	case int32:
		return codeInt, nil
	case int64, int:
		return codeLong, nil
	case float32:
		return codeFloat, nil
	case float64:
		return codeDouble, nil
	case Char:
		return codeChar, nil
	case time.Time:
		return codeTimestamp, nil
	case UUID:
		return codeUUID, nil
	case []byte:
		return codeVbin32, nil
	case string:
		return codeStr32, nil
	case Symbol:
		return codeSym32, nil
	case []any:
		return codeList32, nil
	case *Map:
		return codeMap32, nil
	}
	return 0, fmt.Errorf("wire: cannot put a %T in an array", v)
}

// appendElement writes v without its constructor, in the form code names.
func appendElement(buf []byte, code byte, v any) ([]byte, error) {
	enc, err := Append(nil, v)
	if err != nil {
		return buf, err
	}
	if len(enc) > 0 && enc[0] == code {
		return append(buf, enc[1:]...), nil
	}
	// The compact encoding differs from the array's: widen it.
	val, _, err := Unmarshal(enc)
	if err != nil {
		return buf, err
	}
	switch code {
	case codeBool:
		b, ok := val.(bool)
		if !ok {
			break
		}
		if b {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case codeUint:
		if n, ok := val.(uint32); ok {
			return binary.BigEndian.AppendUint32(buf, n), nil
		}
	case codeUlong:
		if n, ok := val.(uint64); ok {
			return binary.BigEndian.AppendUint64(buf, n), nil
		}
	case codeInt:
		if n, ok := val.(int32); ok {
			return binary.BigEndian.AppendUint32(buf, uint32(n)), nil
		}
	case codeLong:
		if n, ok := val.(int64); ok {
			return binary.BigEndian.AppendUint64(buf, uint64(n)), nil
		}
	case codeVbin32, codeStr32, codeSym32:
		var b []byte
		switch x := val.(type) {
		case []byte:
			b = x
		case string:
			b = []byte(x)
		case Symbol:
			b = []byte(x)
		}
		if b != nil || val != nil {
			return append(binary.BigEndian.AppendUint32(buf, uint32(len(b))), b...), nil
		}
	case codeVbin8, codeStr8, codeSym8:
		if len(enc) > 1 && (enc[0] == codeVbin32 || enc[0] == codeStr32 || enc[0] == codeSym32) {
			return buf, fmt.Errorf("wire: array element of %d bytes does not fit an 8-bit array constructor", len(enc)-5)
		}
		if len(enc) > 0 {
			return append(buf, enc[1:]...), nil
		}
	case codeList32, codeMap32:
		if len(enc) > 0 && (enc[0] == codeList0 || enc[0] == codeList8 || enc[0] == codeMap8) {
			// Re-encode in the 32-bit form: size, count, items.
			var count uint32
			var items []byte
			switch enc[0] {
			case codeList0:
			default:
				count = uint32(enc[2])
				items = enc[3:]
			}
			buf = binary.BigEndian.AppendUint32(buf, uint32(len(items)+4))
			buf = binary.BigEndian.AppendUint32(buf, count)
			return append(buf, items...), nil
		}
	}
	return buf, fmt.Errorf("wire: a %T does not fit an array of code 0x%02x", v, code)
}
