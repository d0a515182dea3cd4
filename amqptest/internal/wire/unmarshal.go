package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// ErrMalformed is what every decoding error wraps.
var ErrMalformed = errors.New("amqp: malformed encoding")

// Unmarshal decodes one value at the start of data and reports how many bytes
// it used. Every length is checked against the bytes that are there before
// anything is allocated, and nesting is limited to MaxDepth, so hostile input
// costs at most its own size.
func Unmarshal(data []byte) (v any, n int, err error) {
	d := decoder{data: data}
	v = d.value(0)
	if d.err != nil {
		return nil, 0, d.err
	}
	return v, d.off, nil
}

type decoder struct {
	data []byte
	off  int
	err  error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("wire: at byte %d: %s: %w", d.off, fmt.Sprintf(format, args...), ErrMalformed)
	}
}

func (d *decoder) remaining() int { return len(d.data) - d.off }

// take returns the next n bytes, or nil (with the error set) if there are fewer.
func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > d.remaining() {
		d.fail("%d bytes needed, %d left", n, d.remaining())
		return nil
	}
	b := d.data[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// value decodes a constructor and the value it introduces.
func (d *decoder) value(depth int) any {
	if depth > MaxDepth {
		d.fail("nested deeper than %d", MaxDepth)
		return nil
	}
	code := d.u8()
	if d.err != nil {
		return nil
	}
	if code == codeDescribed {
		desc := d.value(depth + 1)
		switch desc.(type) {
		case uint64, Symbol:
		default:
			if d.err == nil {
				d.fail("descriptor of type %T", desc)
			}
			return nil
		}
		v := d.value(depth + 1)
		if d.err != nil {
			return nil
		}
		return &Described{Descriptor: desc, Value: v}
	}
	return d.body(code, depth)
}

// body decodes the value after a constructor code.
func (d *decoder) body(code byte, depth int) any {
	switch code {
	case codeNull:
		return nil
	case codeTrue:
		return true
	case codeFalse:
		return false
	case codeBool:
		switch d.u8() {
		case 0:
			return false
		case 1:
			return true
		}
		d.fail("boolean byte is neither 0 nor 1")
		return nil
	case codeUbyte:
		return d.u8()
	case codeUshort:
		return d.u16()
	case codeUint:
		return d.u32()
	case codeSmallUint:
		return uint32(d.u8())
	case codeUint0:
		return uint32(0)
	case codeUlong:
		return d.u64()
	case codeSmallUlong:
		return uint64(d.u8())
	case codeUlong0:
		return uint64(0)
	case codeByte:
		return int8(d.u8())
	case codeShort:
		return int16(d.u16())
	case codeInt:
		return int32(d.u32())
	case codeSmallInt:
		return int32(int8(d.u8()))
	case codeLong:
		return int64(d.u64())
	case codeSmallLong:
		return int64(int8(d.u8()))
	case codeFloat:
		return math.Float32frombits(d.u32())
	case codeDouble:
		return math.Float64frombits(d.u64())
	case codeDecimal32:
		var v Decimal32
		copy(v[:], d.take(4))
		return v
	case codeDecimal64:
		var v Decimal64
		copy(v[:], d.take(8))
		return v
	case codeDecimal128:
		var v Decimal128
		copy(v[:], d.take(16))
		return v
	case codeChar:
		return Char(d.u32())
	case codeTimestamp:
		return Timestamp(int64(d.u64()))
	case codeUUID:
		var v UUID
		copy(v[:], d.take(16))
		return v
	case codeVbin8, codeVbin32:
		b := d.take(d.length(code == codeVbin32))
		if b == nil {
			return nil
		}
		return append([]byte{}, b...)
	case codeStr8, codeStr32:
		b := d.take(d.length(code == codeStr32))
		if b == nil {
			return nil
		}
		if !utf8.Valid(b) {
			d.fail("string is not UTF-8")
			return nil
		}
		return string(b)
	case codeSym8, codeSym32:
		b := d.take(d.length(code == codeSym32))
		if b == nil {
			return nil
		}
		return Symbol(b)
	case codeList0:
		return []any{}
	case codeList8, codeList32:
		return d.list(code == codeList32, depth)
	case codeMap8, codeMap32:
		return d.mapValue(code == codeMap32, depth)
	case codeArray8, codeArray32:
		return d.array(code == codeArray32, depth)
	}
	d.off--
	d.fail("unknown format code 0x%02x", code)
	return nil
}

// length reads a one- or four-byte length.
func (d *decoder) length(wide bool) int {
	if wide {
		return int(d.u32())
	}
	return int(d.u8())
}

// compound reads the size and count of a list, map or array and returns a
// decoder over exactly its contents.
func (d *decoder) compound(wide bool) (inner *decoder, count int) {
	size := d.length(wide)
	width := 1
	if wide {
		width = 4
	}
	if size < width {
		d.fail("compound size %d is too small", size)
		return nil, 0
	}
	body := d.take(size)
	if body == nil {
		return nil, 0
	}
	inner = &decoder{data: body}
	count = inner.length(wide)
	if inner.err != nil {
		d.err = inner.err
		return nil, 0
	}
	return inner, count
}

func (d *decoder) list(wide bool, depth int) any {
	inner, count := d.compound(wide)
	if inner == nil {
		return nil
	}
	if count > inner.remaining() { // every element takes at least one byte
		d.fail("list of %d elements in %d bytes", count, inner.remaining())
		return nil
	}
	l := make([]any, count)
	for i := range l {
		l[i] = inner.value(depth + 1)
		if inner.err != nil {
			d.err = inner.err
			return nil
		}
	}
	return l
}

func (d *decoder) mapValue(wide bool, depth int) any {
	inner, count := d.compound(wide)
	if inner == nil {
		return nil
	}
	if count%2 != 0 {
		d.fail("map with an odd count %d", count)
		return nil
	}
	if count > inner.remaining() {
		d.fail("map of %d elements in %d bytes", count, inner.remaining())
		return nil
	}
	m := &Map{Entries: make([]MapEntry, count/2)}
	for i := range m.Entries {
		k := inner.value(depth + 1)
		v := inner.value(depth + 1)
		if inner.err != nil {
			d.err = inner.err
			return nil
		}
		m.Entries[i] = MapEntry{k, v}
	}
	return m
}

func (d *decoder) array(wide bool, depth int) any {
	inner, count := d.compound(wide)
	if inner == nil {
		return nil
	}
	a := &Array{}
	code := inner.u8()
	if code == codeDescribed {
		a.Descriptor = inner.value(depth + 1)
		switch a.Descriptor.(type) {
		case uint64, Symbol:
		default:
			if inner.err == nil {
				inner.fail("array descriptor of type %T", a.Descriptor)
			}
		}
		code = inner.u8()
	}
	if inner.err != nil {
		d.err = inner.err
		return nil
	}
	a.Constructor = code
	// Bound the count by the bytes there: elements of fixed width zero (null,
	// true, uint0, …) are the only ones that could repeat for free.
	if w := fixedWidth(code); w == 0 {
		if count > inner.remaining()+1024 {
			d.fail("array of %d empty elements", count)
			return nil
		}
	} else if count > inner.remaining()/w {
		d.fail("array of %d elements in %d bytes", count, inner.remaining())
		return nil
	}
	a.Elems = make([]any, count)
	for i := range a.Elems {
		a.Elems[i] = inner.body(code, depth+1)
		if inner.err != nil {
			d.err = inner.err
			return nil
		}
	}
	return a
}

// fixedWidth is the smallest number of bytes an element of code takes after
// its constructor.
func fixedWidth(code byte) int {
	switch code {
	case codeNull, codeTrue, codeFalse, codeUint0, codeUlong0, codeList0:
		return 0
	case codeBool, codeUbyte, codeByte, codeSmallUint, codeSmallUlong, codeSmallInt, codeSmallLong,
		codeVbin8, codeStr8, codeSym8:
		return 1
	case codeUshort, codeShort:
		return 2
	case codeUint, codeInt, codeFloat, codeChar, codeDecimal32, codeVbin32, codeStr32, codeSym32:
		return 4
	case codeUlong, codeLong, codeDouble, codeTimestamp, codeDecimal64:
		return 8
	case codeUUID, codeDecimal128:
		return 16
	case codeList8, codeMap8, codeArray8:
		return 2
	case codeList32, codeMap32, codeArray32:
		return 8
	}
	return 1
}
