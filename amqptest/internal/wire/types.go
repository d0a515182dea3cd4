// Package wire is amqptest's own AMQP 1.0 codec: the type system (every
// primitive, described, list, map and array encoding), frames, and the
// performatives the test server speaks. It is written for a server that must
// never crash on hostile input: every length is checked against the bytes that
// are actually there before anything is allocated, and nesting is bounded.
package wire

import "time"

// Go types of decoded AMQP values. Marshal accepts these (and the plain Go types
// listed below); Unmarshal produces exactly these:
//
//	AMQP null                  nil
//	boolean                    bool
//	ubyte, ushort, uint, ulong uint8, uint16, uint32, uint64
//	byte, short, int, long     int8, int16, int32, int64
//	float, double              float32, float64
//	decimal32/64/128           Decimal32, Decimal64, Decimal128 (raw bytes)
//	char                       Char
//	timestamp                  time.Time (UTC, millisecond precision)
//	uuid                       UUID
//	binary                     []byte
//	string                     string
//	symbol                     Symbol
//	list                       []any
//	map                        *Map (ordered; keys of any type)
//	array                      *Array
//	described                  *Described
type (
	// Symbol is an AMQP symbol (ASCII).
	Symbol string
	// Char is an AMQP char (a UTF-32 code point).
	Char rune
	// UUID is an AMQP uuid, in network byte order.
	UUID [16]byte
	// Decimal32 is an AMQP decimal32, kept as its raw bytes.
	Decimal32 [4]byte
	// Decimal64 is an AMQP decimal64, kept as its raw bytes.
	Decimal64 [8]byte
	// Decimal128 is an AMQP decimal128, kept as its raw bytes.
	Decimal128 [16]byte
)

// Described is a described value: a descriptor (uint64 code or Symbol name)
// and the value it describes.
type Described struct {
	Descriptor any // uint64 or Symbol
	Value      any
}

// Map is an AMQP map. It keeps the order of its entries as they were decoded
// or added; keys may be of any AMQP type.
type Map struct {
	Entries []MapEntry
}

// MapEntry is one key and value of a Map.
type MapEntry struct {
	Key, Value any
}

// Get returns the value of the first entry whose key equals key (compared with
// ==, so use comparable keys such as Symbol, string or uint64).
func (m *Map) Get(key any) (any, bool) {
	if m == nil {
		return nil, false
	}
	for _, e := range m.Entries {
		if e.Key == key {
			return e.Value, true
		}
	}
	return nil, false
}

// Set replaces the value of key, or adds the entry.
func (m *Map) Set(key, value any) {
	for i, e := range m.Entries {
		if e.Key == key {
			m.Entries[i].Value = value
			return
		}
	}
	m.Entries = append(m.Entries, MapEntry{key, value})
}

// Array is an AMQP array: elements of one type. Constructor is the format
// code of the element type (for example 0xa3 for symbols, 0x70 for uints); for
// arrays of described values, Descriptor is set and Constructor is the format
// code of the described values. Unmarshal fills both; Marshal uses them and
// encodes Elems, which must all be of the Go type that code decodes to.
type Array struct {
	Descriptor  any // nil unless the elements are described
	Constructor byte
	Elems       []any
}

// Format codes.
const (
	codeDescribed = 0x00

	codeNull       = 0x40
	codeBool       = 0x56
	codeTrue       = 0x41
	codeFalse      = 0x42
	codeUbyte      = 0x50
	codeUshort     = 0x60
	codeUint       = 0x70
	codeSmallUint  = 0x52
	codeUint0      = 0x43
	codeUlong      = 0x80
	codeSmallUlong = 0x53
	codeUlong0     = 0x44
	codeByte       = 0x51
	codeShort      = 0x61
	codeInt        = 0x71
	codeSmallInt   = 0x54
	codeLong       = 0x81
	codeSmallLong  = 0x55
	codeFloat      = 0x72
	codeDouble     = 0x82
	codeDecimal32  = 0x74
	codeDecimal64  = 0x84
	codeDecimal128 = 0x94
	codeChar       = 0x73
	codeTimestamp  = 0x83
	codeUUID       = 0x98
	codeVbin8      = 0xa0
	codeVbin32     = 0xb0
	codeStr8       = 0xa1
	codeStr32      = 0xb1
	codeSym8       = 0xa3
	codeSym32      = 0xb3
	codeList0      = 0x45
	codeList8      = 0xc0
	codeList32     = 0xd0
	codeMap8       = 0xc1
	codeMap32      = 0xd1
	codeArray8     = 0xe0
	codeArray32    = 0xf0
)

// MaxDepth bounds the nesting of compound values Unmarshal accepts.
const MaxDepth = 64

// Timestamp converts milliseconds since the Unix epoch, as AMQP encodes them.
func Timestamp(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
