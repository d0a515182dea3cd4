package amqp091

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/amqplink/amqplink/message"
)

// A decoder of the AMQP 1.0 type system (OASIS AMQP 1.0, part 1: types), for
// what RabbitMQ hands a 0-9-1 consumer of a message published over AMQP 1.0:
// the message annotations, properties, application properties and footer as
// encoded sections in x-amqp-1.0-* headers, and a body other than one data
// section as its encoded sections (see headers.go). It reads what those can
// hold: every primitive type but char and the decimals, lists, maps, arrays and
// described values. Malformed input is an error, never a panic.
//
// Decoded Go types are the ones the AMQP 1.0 driver hands out for the same
// encoding, so a message reads the same through either driver:
//
//	null                     nil
//	boolean                  bool
//	ubyte ushort uint ulong  uint8 uint16 uint32 uint64
//	byte short int long      int8 int16 int32 int64
//	float double             float32 float64
//	timestamp                time.Time, UTC
//	uuid                     message.UUID
//	binary                   []byte (never nil)
//	string, symbol           string (a lone symbol reads as a string)
//	list                     []any
//	map                      map[string]any when every key is a string or
//	                         symbol, else map[any]any
//	array                    a typed slice ([]int32, []string, []message.Symbol,
//	                         []message.UUID, []time.Time, [][]byte, …); []any for
//	                         arrays of ubyte (a []uint8 would read as binary),
//	                         null, lists, maps, arrays and described values
//	described value          Described

// Described is an AMQP 1.0 described value: a descriptor (a uint64 code or a
// symbol, as a string) and the value it describes. It appears where a message
// RabbitMQ carried over from AMQP 1.0 holds a described value the driver has no
// other Go form for.
type Described struct {
	Descriptor any
	Value      any
}

// Format codes (AMQP 1.0 part 1, section 1.6).
const (
	codeDescribed = 0x00
	codeNull      = 0x40
	codeTrue      = 0x41
	codeFalse     = 0x42
	codeUint0     = 0x43
	codeUlong0    = 0x44
	codeList0     = 0x45
	codeBoolean   = 0x56
	codeUbyte     = 0x50
	codeByte      = 0x51
	codeSmallUint = 0x52
	codeSmallUlng = 0x53
	codeSmallInt  = 0x54
	codeSmallLong = 0x55
	codeUshort    = 0x60
	codeShort     = 0x61
	codeUint      = 0x70
	codeInt       = 0x71
	codeFloat     = 0x72
	codeChar      = 0x73
	codeDecimal32 = 0x74
	codeUlong     = 0x80
	codeLong      = 0x81
	codeDouble    = 0x82
	codeTimestamp = 0x83
	codeDecimal64 = 0x84
	codeDecimal16 = 0x94 // decimal128
	codeUUID      = 0x98
	codeVbin8     = 0xa0
	codeStr8      = 0xa1
	codeSym8      = 0xa3
	codeVbin32    = 0xb0
	codeStr32     = 0xb1
	codeSym32     = 0xb3
	codeList8     = 0xc0
	codeMap8      = 0xc1
	codeList32    = 0xd0
	codeMap32     = 0xd1
	codeArray8    = 0xe0
	codeArray32   = 0xf0
)

const (
	// maxDepth bounds the nesting of lists, maps, arrays and described values.
	maxDepth = 64
	// maxZeroWidthElements bounds an array whose elements take no bytes (an
	// array of null, true, false, uint0, ulong0 or list0), which a few bytes
	// could otherwise make any length.
	maxZeroWidthElements = 1 << 16
)

// errAMQP10 is the root of every decoding error: malformed input, or a type
// this decoder does not read.
var errAMQP10 = errors.New("amqp091: undecodable AMQP 1.0 encoding")

type decodeError struct {
	off int
	msg string
}

func (e *decodeError) Error() string {
	return fmt.Sprintf("%v at byte %d: %s", errAMQP10, e.off, e.msg)
}

func (e *decodeError) Unwrap() error { return errAMQP10 }

// decodeAMQP10 decodes exactly one AMQP 1.0 value that fills b.
func decodeAMQP10(b []byte) (any, error) {
	d := decoder{b: b}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, d.errorf("%d bytes after the value", len(b)-d.off)
	}
	return v, nil
}

// decodeAMQP10Values decodes the AMQP 1.0 values that follow one another in b,
// as the sections of a message do.
func decodeAMQP10Values(b []byte) ([]any, error) {
	d := decoder{b: b}
	var out []any
	for d.off < len(b) {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

type decoder struct {
	b     []byte
	off   int
	depth int
}

func (d *decoder) errorf(format string, args ...any) error {
	return &decodeError{off: d.off, msg: fmt.Sprintf(format, args...)}
}

// take returns the next n bytes.
func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, d.errorf("%d bytes needed, %d left", n, len(d.b)-d.off)
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s, nil
}

func (d *decoder) byte1() (byte, error) {
	s, err := d.take(1)
	if err != nil {
		return 0, err
	}
	return s[0], nil
}

// length reads a size or count of width 1 or 4 bytes.
func (d *decoder) length(width int) (int, error) {
	s, err := d.take(width)
	if err != nil {
		return 0, err
	}
	if width == 1 {
		return int(s[0]), nil
	}
	n := binary.BigEndian.Uint32(s)
	if uint64(n) > uint64(math.MaxInt32) {
		return 0, d.errorf("length %d is too large", n)
	}
	return int(n), nil
}

// enter counts one more level of nesting.
func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.errorf("nested more than %d deep", maxDepth)
	}
	return nil
}

// constructor is what precedes a value's encoding: a format code, or a
// descriptor followed by the constructor of the described value.
type constructor struct {
	code       byte
	described  bool
	descriptor any
	inner      *constructor // for a described constructor
}

// constructor reads a constructor.
func (d *decoder) constructor() (*constructor, error) {
	code, err := d.byte1()
	if err != nil {
		return nil, err
	}
	if code != codeDescribed {
		return &constructor{code: code}, nil
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	desc, err := d.value()
	if err != nil {
		return nil, err
	}
	inner, err := d.constructor()
	if err != nil {
		return nil, err
	}
	return &constructor{described: true, descriptor: desc, inner: inner}, nil
}

// value reads one value with its constructor.
func (d *decoder) value() (any, error) {
	c, err := d.constructor()
	if err != nil {
		return nil, err
	}
	return d.valueOf(c)
}

// valueOf reads the encoding of one value whose constructor is c (read already,
// or, for an array element, once for all elements).
func (d *decoder) valueOf(c *constructor) (any, error) {
	if c.described {
		if err := d.enter(); err != nil {
			return nil, err
		}
		defer func() { d.depth-- }()
		v, err := d.valueOf(c.inner)
		if err != nil {
			return nil, err
		}
		return Described{Descriptor: c.descriptor, Value: v}, nil
	}
	return d.primitive(c.code)
}

func (d *decoder) primitive(code byte) (any, error) {
	switch code {
	case codeNull:
		return nil, nil
	case codeTrue:
		return true, nil
	case codeFalse:
		return false, nil
	case codeBoolean:
		b, err := d.byte1()
		if err != nil {
			return nil, err
		}
		switch b {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
		return nil, d.errorf("boolean byte %#02x is neither 0 nor 1", b)
	case codeUbyte:
		return d.byte1()
	case codeByte:
		b, err := d.byte1()
		return int8(b), err
	case codeUshort:
		s, err := d.take(2)
		if err != nil {
			return nil, err
		}
		return binary.BigEndian.Uint16(s), nil
	case codeShort:
		s, err := d.take(2)
		if err != nil {
			return nil, err
		}
		return int16(binary.BigEndian.Uint16(s)), nil
	case codeUint0:
		return uint32(0), nil
	case codeSmallUint:
		b, err := d.byte1()
		return uint32(b), err
	case codeUint:
		s, err := d.take(4)
		if err != nil {
			return nil, err
		}
		return binary.BigEndian.Uint32(s), nil
	case codeSmallInt:
		b, err := d.byte1()
		return int32(int8(b)), err
	case codeInt:
		s, err := d.take(4)
		if err != nil {
			return nil, err
		}
		return int32(binary.BigEndian.Uint32(s)), nil
	case codeUlong0:
		return uint64(0), nil
	case codeSmallUlng:
		b, err := d.byte1()
		return uint64(b), err
	case codeUlong:
		s, err := d.take(8)
		if err != nil {
			return nil, err
		}
		return binary.BigEndian.Uint64(s), nil
	case codeSmallLong:
		b, err := d.byte1()
		return int64(int8(b)), err
	case codeLong:
		s, err := d.take(8)
		if err != nil {
			return nil, err
		}
		return int64(binary.BigEndian.Uint64(s)), nil
	case codeFloat:
		s, err := d.take(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.BigEndian.Uint32(s)), nil
	case codeDouble:
		s, err := d.take(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(s)), nil
	case codeTimestamp:
		s, err := d.take(8)
		if err != nil {
			return nil, err
		}
		return time.UnixMilli(int64(binary.BigEndian.Uint64(s))).UTC(), nil
	case codeUUID:
		s, err := d.take(16)
		if err != nil {
			return nil, err
		}
		return message.UUID(s), nil
	case codeVbin8, codeVbin32:
		s, err := d.variable(code == codeVbin32)
		if err != nil {
			return nil, err
		}
		return append(make([]byte, 0, len(s)), s...), nil
	case codeStr8, codeStr32, codeSym8, codeSym32:
		s, err := d.variable(code == codeStr32 || code == codeSym32)
		if err != nil {
			return nil, err
		}
		return string(s), nil
	case codeList0:
		return []any{}, nil
	case codeList8, codeList32, codeMap8, codeMap32:
		return d.compound(code)
	case codeArray8, codeArray32:
		return d.array(code == codeArray32)
	case codeChar, codeDecimal32, codeDecimal64, codeDecimal16:
		return nil, d.errorf("type %#02x (char or decimal) is not supported", code)
	}
	return nil, d.errorf("unknown format code %#02x", code)
}

// variable reads a binary, string or symbol's bytes after its 1- or 4-byte size.
func (d *decoder) variable(wide bool) ([]byte, error) {
	width := 1
	if wide {
		width = 4
	}
	n, err := d.length(width)
	if err != nil {
		return nil, err
	}
	return d.take(n)
}

// body returns a decoder over the next size bytes of a compound or array (after
// its size field) and the element count at its start; the caller's offset moves
// past them.
func (d *decoder) body(width int) (*decoder, int, error) {
	size, err := d.length(width)
	if err != nil {
		return nil, 0, err
	}
	start := d.off
	s, err := d.take(size)
	if err != nil {
		return nil, 0, err
	}
	sub := &decoder{b: s, depth: d.depth}
	count, err := sub.length(width)
	if err != nil {
		return nil, 0, relocate(err, start)
	}
	return sub, count, nil
}

// relocate turns an error of a sub-decoder over bytes starting at base into one
// with an offset in the whole input.
func relocate(err error, base int) error {
	var de *decodeError
	if errors.As(err, &de) {
		return &decodeError{off: base + de.off, msg: de.msg}
	}
	return err
}

func (d *decoder) compound(code byte) (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	width := 1
	if code == codeList32 || code == codeMap32 {
		width = 4
	}
	base := d.off + width
	sub, count, err := d.body(width)
	if err != nil {
		return nil, err
	}
	if count > len(sub.b)-sub.off { // every element takes at least its constructor byte
		return nil, relocate(sub.errorf("%d elements cannot fit in %d bytes", count, len(sub.b)-sub.off), base)
	}
	elems := make([]any, count)
	for i := range elems {
		if elems[i], err = sub.value(); err != nil {
			return nil, relocate(err, base)
		}
	}
	if sub.off != len(sub.b) {
		return nil, relocate(sub.errorf("%d bytes after the last element", len(sub.b)-sub.off), base)
	}
	if code == codeList8 || code == codeList32 {
		return elems, nil
	}
	if count%2 != 0 {
		return nil, relocate(sub.errorf("a map with an odd number (%d) of keys and values", count), base)
	}
	m := make(map[any]any, count/2)
	allStrings := true
	for i := 0; i < count; i += 2 {
		k := elems[i]
		if !hashable(k) {
			return nil, d.errorf("a map key of type %T", k)
		}
		if _, ok := k.(string); !ok {
			allStrings = false
		}
		m[k] = elems[i+1]
	}
	if !allStrings {
		return m, nil
	}
	sm := make(map[string]any, len(m))
	for k, v := range m {
		sm[k.(string)] = v
	}
	return sm, nil
}

// hashable reports whether v can be a Go map key: the scalar types decoding
// gives. Binary, lists, maps, arrays and described values cannot.
func hashable(v any) bool {
	switch v.(type) {
	case nil, bool, uint8, uint16, uint32, uint64, int8, int16, int32, int64,
		float32, float64, time.Time, message.UUID, string:
		return true
	}
	return false
}

func (d *decoder) array(wide bool) (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	width := 1
	if wide {
		width = 4
	}
	base := d.off + width
	sub, count, err := d.body(width)
	if err != nil {
		return nil, err
	}
	c, err := sub.constructor()
	if err != nil {
		return nil, relocate(err, base)
	}
	prim := c
	for prim.described {
		prim = prim.inner
	}
	switch prim.code {
	case codeNull, codeTrue, codeFalse, codeUint0, codeUlong0, codeList0:
		if count > maxZeroWidthElements {
			return nil, relocate(sub.errorf("an array of %d elements without content", count), base)
		}
	default:
		if count > len(sub.b)-sub.off {
			return nil, relocate(sub.errorf("%d elements cannot fit in %d bytes", count, len(sub.b)-sub.off), base)
		}
	}
	elems := make([]any, count)
	for i := range elems {
		if elems[i], err = sub.valueOf(c); err != nil {
			return nil, relocate(err, base)
		}
	}
	if sub.off != len(sub.b) {
		return nil, relocate(sub.errorf("%d bytes after the last element", len(sub.b)-sub.off), base)
	}
	if c.described {
		return elems, nil
	}
	switch c.code {
	case codeTrue, codeFalse, codeBoolean:
		return typed[bool](elems), nil
	case codeByte:
		return typed[int8](elems), nil
	case codeUshort:
		return typed[uint16](elems), nil
	case codeShort:
		return typed[int16](elems), nil
	case codeUint0, codeSmallUint, codeUint:
		return typed[uint32](elems), nil
	case codeSmallInt, codeInt:
		return typed[int32](elems), nil
	case codeUlong0, codeSmallUlng, codeUlong:
		return typed[uint64](elems), nil
	case codeSmallLong, codeLong:
		return typed[int64](elems), nil
	case codeFloat:
		return typed[float32](elems), nil
	case codeDouble:
		return typed[float64](elems), nil
	case codeTimestamp:
		return typed[time.Time](elems), nil
	case codeUUID:
		return typed[message.UUID](elems), nil
	case codeVbin8, codeVbin32:
		return typed[[]byte](elems), nil
	case codeStr8, codeStr32:
		return typed[string](elems), nil
	case codeSym8, codeSym32:
		out := make([]message.Symbol, len(elems))
		for i, e := range elems {
			out[i] = message.Symbol(e.(string))
		}
		return out, nil
	}
	return elems, nil // ubyte, null, lists, maps, arrays
}

// typed converts elements that one constructor decoded, so all of type T.
func typed[T any](elems []any) []T {
	out := make([]T, len(elems))
	for i, e := range elems {
		out[i] = e.(T)
	}
	return out
}
