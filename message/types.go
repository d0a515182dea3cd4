package message

import "encoding/hex"

// Symbol is an AMQP symbol: an ASCII string from a restricted vocabulary, used for
// annotation keys, capabilities and conditions. A plain string value is sent as an
// AMQP string; a Symbol is sent as a symbol. The AMQP 1.0 driver receives a lone
// symbol value as a plain string (go-amqp decodes it so); arrays of symbols
// arrive as []Symbol.
type Symbol string

// UUID is a 16-byte universally unique identifier in standard (RFC 4122) byte order.
type UUID [16]byte

// String formats u in the canonical 8-4-4-4-12 hexadecimal form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// Null is the AMQP null as a message body value. Set Body.Value to Null{} to send an
// amqp-value section holding null; a nil Value means "no amqp-value section".
type Null struct{}

// Annotations holds delivery annotations, message annotations or a footer.
// Keys are strings, sent as AMQP symbols (rare numeric keys pass through as int64);
// values are any AMQP value.
type Annotations map[any]any
