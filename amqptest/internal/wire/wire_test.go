package wire_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := wire.Marshal(v)
	require.NoError(t, err, "%#v", v)
	got, n, err := wire.Unmarshal(b)
	require.NoError(t, err, "%#v -> % x", v, b)
	require.Equal(t, len(b), n, "consumes exactly its encoding")
	return got
}

func TestEveryTypeRoundTrips(t *testing.T) {
	ts := time.UnixMilli(1700000000123).UTC()
	for _, v := range []any{
		nil, true, false,
		uint8(0), uint8(255), uint16(65535),
		uint32(0), uint32(255), uint32(256), uint32(math.MaxUint32),
		uint64(0), uint64(255), uint64(256), uint64(math.MaxUint64),
		int8(-128), int16(-32768),
		int32(-128), int32(127), int32(128), int32(math.MinInt32),
		int64(-128), int64(127), int64(-129), int64(math.MaxInt64),
		float32(1.5), 2.25,
		wire.Decimal32{1, 2, 3, 4}, wire.Decimal64{1}, wire.Decimal128{15: 9},
		wire.Char('€'), ts, wire.UUID{1, 2, 3, 15: 4},
		[]byte{}, []byte("bin"), bytes.Repeat([]byte{7}, 300),
		"", "text", strings.Repeat("é", 200),
		wire.Symbol("amqp:not-found"), wire.Symbol(strings.Repeat("s", 256)),
		[]any{}, []any{uint32(1), "two", nil}, []any{strings.Repeat("x", 300)},
		&wire.Map{Entries: []wire.MapEntry{{wire.Symbol("k"), int64(1)}, {"s", []any{true}}, {uint64(3), nil}}},
		&wire.Described{Descriptor: uint64(0x24), Value: []any{}},
		&wire.Described{Descriptor: wire.Symbol("com.example:thing"), Value: "v"},
		&wire.Array{Constructor: 0xa3, Elems: []any{wire.Symbol("a"), wire.Symbol("bc")}},
		&wire.Array{Constructor: 0x70, Elems: []any{uint32(0), uint32(1), uint32(70000)}},
		&wire.Array{Constructor: 0xb1, Elems: []any{}},
		&wire.Array{Descriptor: uint64(0x29), Constructor: 0xd0, Elems: []any{[]any{"addr"}, []any{}}},
	} {
		assert.Equal(t, v, roundTrip(t, v), "%#v", v)
	}
	assert.Equal(t, int64(-5), roundTrip(t, -5), "int is a long")
}

func TestSmallestEncodings(t *testing.T) {
	for _, c := range []struct {
		v    any
		want []byte
	}{
		{uint32(0), []byte{0x43}},
		{uint32(7), []byte{0x52, 7}},
		{uint64(0), []byte{0x44}},
		{int32(-1), []byte{0x54, 0xff}},
		{true, []byte{0x41}},
		{"ab", []byte{0xa1, 2, 'a', 'b'}},
		{[]any{}, []byte{0x45}},
		{[]any{true}, []byte{0xc0, 2, 1, 0x41}},
	} {
		got, err := wire.Marshal(c.v)
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "%#v", c.v)
	}
	long, err := wire.Marshal(strings.Repeat("x", 256))
	require.NoError(t, err)
	assert.Equal(t, byte(0xb1), long[0], "past 255 bytes a string needs str32")
}

func TestWideFormsAreAccepted(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want any
	}{
		{[]byte{0xb1, 0, 0, 0, 2, 'h', 'i'}, "hi"},
		{[]byte{0xd0, 0, 0, 0, 5, 0, 0, 0, 1, 0x41}, []any{true}},
		{[]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 9}, uint64(9)},
		{[]byte{0x70, 0, 0, 0, 9}, uint32(9)},
		{[]byte{0x56, 1}, true},
		{[]byte{0x56, 0}, false},
		{[]byte{0xd1, 0, 0, 0, 7, 0, 0, 0, 2, 0xa3, 0, 0x40}, &wire.Map{Entries: []wire.MapEntry{{wire.Symbol(""), nil}}}},
	} {
		got, n, err := wire.Unmarshal(c.in)
		require.NoError(t, err, "% x", c.in)
		assert.Equal(t, len(c.in), n)
		assert.Equal(t, c.want, got, "% x", c.in)
	}
}

func TestHostileInputFailsCleanly(t *testing.T) {
	for name, in := range map[string][]byte{
		"empty":                   {},
		"unknown code":            {0x99},
		"truncated uint":          {0x70, 0, 0},
		"string longer than data": {0xb1, 0x7f, 0xff, 0xff, 0xff, 'x'},
		"list count past bytes":   {0xd0, 0, 0, 0, 8, 0x7f, 0xff, 0xff, 0xff, 0x40, 0x40, 0x40, 0x40},
		"array count past bytes":  {0xf0, 0, 0, 0, 9, 0x7f, 0xff, 0xff, 0xff, 0x70, 0, 0, 0, 0},
		"odd map":                 {0xc1, 2, 1, 0x40},
		"bad utf-8":               {0xa1, 1, 0xff},
		"bad boolean":             {0x56, 2},
		"descriptor not a code":   {0x00, 0xa1, 1, 'x', 0x40},
		"deep nesting":            deepList(wire.MaxDepth + 10),
	} {
		_, _, err := wire.Unmarshal(in)
		assert.ErrorIs(t, err, wire.ErrMalformed, name)
	}
}

func deepList(depth int) []byte {
	b := []byte{0x45}
	for range depth {
		b = append([]byte{0xd0, 0, 0, 0, byte(len(b) + 4), 0, 0, 0, 1}, b...)
		if len(b) > 250 {
			break
		}
	}
	for len(b) < 2*depth { // wrap the rest in list8s
		b = append([]byte{0xc0, byte(len(b) + 1), 1}, b...)
		if len(b) > 254 {
			break
		}
	}
	// list8 nesting is bounded by its one-byte size; use described values too
	d := []byte{0x45}
	for range depth + 5 {
		d = append([]byte{0x00, 0x53, 0x75}, d...)
	}
	return d
}

// TestGoAMQPReadsWhatWeWrite and TestWeReadWhatGoAMQPWrites check the codec
// against an independent implementation, on the message sections.
func TestGoAMQPReadsWhatWeWrite(t *testing.T) {
	var b []byte
	var err error
	created := time.UnixMilli(1700000000000).UTC()
	for _, section := range []any{
		&wire.Described{Descriptor: wire.DescHeader, Value: []any{true, uint8(7), uint32(5000)}},
		&wire.Described{Descriptor: wire.DescMessageAnnotations, Value: &wire.Map{Entries: []wire.MapEntry{
			{wire.Symbol("x-opt-partition"), int64(3)}}}},
		&wire.Described{Descriptor: wire.DescProperties, Value: []any{"id-1", nil, nil, "subj", nil, nil,
			wire.Symbol("text/plain"), nil, nil, created}},
		&wire.Described{Descriptor: wire.DescApplicationProperties, Value: &wire.Map{Entries: []wire.MapEntry{
			{"n", int64(42)}, {"ok", true}, {"f", 1.5}}}},
		&wire.Described{Descriptor: wire.DescData, Value: []byte("payload")},
	} {
		b, err = wire.Append(b, section)
		require.NoError(t, err)
	}
	var m amqp.Message
	require.NoError(t, m.UnmarshalBinary(b))
	require.NotNil(t, m.Header)
	assert.True(t, m.Header.Durable)
	assert.Equal(t, uint8(7), m.Header.Priority)
	assert.Equal(t, 5000*time.Millisecond, m.Header.TTL)
	assert.Equal(t, int64(3), m.Annotations["x-opt-partition"])
	assert.Equal(t, "id-1", m.Properties.MessageID)
	assert.Equal(t, "subj", *m.Properties.Subject)
	assert.Equal(t, "text/plain", *m.Properties.ContentType)
	assert.True(t, created.Equal(*m.Properties.CreationTime))
	assert.Equal(t, map[string]any{"n": int64(42), "ok": true, "f": 1.5}, m.ApplicationProperties)
	assert.Equal(t, []byte("payload"), m.GetData())
}

func TestWeReadWhatGoAMQPWrites(t *testing.T) {
	m := amqp.NewMessage([]byte("payload"))
	m.Header = &amqp.MessageHeader{Durable: true, DeliveryCount: 2}
	m.Annotations = amqp.Annotations{"x-opt-lock": "tok"}
	m.Properties = &amqp.MessageProperties{MessageID: "m-1", To: ptr("dest")}
	m.ApplicationProperties = map[string]any{"k": int32(-7), "u": amqp.UUID{1}}
	b, err := m.MarshalBinary()
	require.NoError(t, err)

	var sections []*wire.Described
	for len(b) > 0 {
		v, n, err := wire.Unmarshal(b)
		require.NoError(t, err)
		d, ok := v.(*wire.Described)
		require.True(t, ok, "%T", v)
		sections = append(sections, d)
		b = b[n:]
	}
	byCode := map[uint64]any{}
	for _, s := range sections {
		byCode[s.Descriptor.(uint64)] = s.Value
	}
	header := byCode[wire.DescHeader].([]any)
	assert.Equal(t, true, header[0])
	assert.Equal(t, uint32(2), header[4])
	ann := byCode[wire.DescMessageAnnotations].(*wire.Map)
	v, ok := ann.Get(wire.Symbol("x-opt-lock"))
	require.True(t, ok)
	assert.Equal(t, "tok", v)
	props := byCode[wire.DescProperties].([]any)
	assert.Equal(t, "m-1", props[0])
	assert.Equal(t, "dest", props[2])
	app := byCode[wire.DescApplicationProperties].(*wire.Map)
	k, _ := app.Get("k")
	assert.Equal(t, int32(-7), k)
	u, _ := app.Get("u")
	assert.Equal(t, wire.UUID{1}, u)
	assert.Equal(t, []byte("payload"), byCode[wire.DescData])
}

func ptr[T any](v T) *T { return &v }

func TestFramesRoundTrip(t *testing.T) {
	open := wire.Encode(&wire.Open{ContainerID: "c", MaxFrameSize: 512})
	var buf []byte
	buf, err := wire.AppendFrame(buf, wire.Frame{Type: wire.FrameAMQP, Body: open})
	require.NoError(t, err)
	buf, err = wire.AppendFrame(buf, wire.Frame{Type: wire.FrameAMQP, Channel: 7,
		Body: wire.Encode(&wire.Transfer{Handle: 1}), Payload: []byte("data")})
	require.NoError(t, err)
	buf, err = wire.AppendFrame(buf, wire.Frame{}) // heartbeat
	require.NoError(t, err)

	r := bytes.NewReader(buf)
	f, err := wire.ReadFrame(r, 512)
	require.NoError(t, err)
	p, err := wire.Decode(f.Body)
	require.NoError(t, err)
	assert.Equal(t, "c", p.(*wire.Open).ContainerID)
	assert.Equal(t, uint32(512), p.(*wire.Open).MaxFrameSize)

	f, err = wire.ReadFrame(r, 512)
	require.NoError(t, err)
	assert.Equal(t, uint16(7), f.Channel)
	assert.Equal(t, []byte("data"), f.Payload)

	f, err = wire.ReadFrame(r, 512)
	require.NoError(t, err)
	assert.Nil(t, f.Body, "an empty frame is a heartbeat")

	_, err = wire.ReadFrame(r, 512)
	assert.Equal(t, io.EOF, err, "EOF at a frame boundary is a clean end")
	_, err = wire.ReadFrame(bytes.NewReader(buf[:10]), 512)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestFrameLimitsAreCheckedBeforeReading(t *testing.T) {
	huge := []byte{0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0}
	_, err := wire.ReadFrame(bytes.NewReader(huge), 65536)
	assert.ErrorIs(t, err, wire.ErrFrameTooLarge)
	_, err = wire.ReadFrame(bytes.NewReader([]byte{0, 0, 0, 8, 1, 0, 0, 0}), 65536)
	assert.ErrorIs(t, err, wire.ErrMalformed, "data offset below 2")
	_, err = wire.ReadFrame(bytes.NewReader([]byte{0, 0, 0, 4, 2, 0, 0, 0}), 65536)
	assert.ErrorIs(t, err, wire.ErrMalformed, "size below the header")
}

func TestPerformativesRoundTrip(t *testing.T) {
	addr := "q"
	one, two := uint32(1), uint32(2)
	for _, p := range []any{
		&wire.Open{ContainerID: "x", Hostname: "h", MaxFrameSize: 4096, ChannelMax: 9, IdleTimeout: 1000},
		&wire.Attach{Name: "l", Handle: 3, Role: wire.RoleReceiver, SndSettleMode: wire.SndSettled, RcvSettleMode: wire.RcvSecond,
			Source: &wire.Source{Address: &addr}, Target: &wire.Target{}, InitialDeliveryCount: &one, MaxMessageSize: 10},
		&wire.Flow{NextIncomingID: &one, IncomingWindow: 5, NextOutgoingID: 6, OutgoingWindow: 7, Handle: &two,
			DeliveryCount: &one, LinkCredit: &two, Drain: true},
		&wire.Transfer{Handle: 1, DeliveryID: &two, DeliveryTag: []byte{1}, MessageFormat: &one, Settled: true, More: true},
		&wire.Disposition{Role: wire.RoleReceiver, First: 1, Last: &two, Settled: true,
			State: &wire.Rejected{Error: &wire.Error{Condition: "c", Description: "d"}}},
		&wire.Disposition{State: &wire.Modified{DeliveryFailed: true}},
		&wire.Detach{Handle: 4, Closed: true, Error: &wire.Error{Condition: "amqp:link:stolen"}},
		&wire.SASLInit{Mechanism: "PLAIN", InitialResponse: []byte("\x00u\x00p")},
		&wire.SASLOutcome{Code: 1},
		&wire.SASLMechanisms{Mechanisms: []wire.Symbol{"PLAIN", "ANONYMOUS"}},
	} {
		b, err := wire.Marshal(wire.Encode(p))
		require.NoError(t, err)
		v, _, err := wire.Unmarshal(b)
		require.NoError(t, err)
		got, err := wire.Decode(v)
		require.NoError(t, err)
		assert.Equal(t, p, got)
	}
	_, err := wire.Decode(&wire.Described{Descriptor: uint64(0x12), Value: []any{uint32(5)}})
	assert.True(t, errors.Is(err, wire.ErrMalformed), "a field of the wrong type: %v", err)
}

// FuzzUnmarshal: no input panics, and what decodes re-encodes to something that
// decodes to the same value.
func FuzzUnmarshal(f *testing.F) {
	for _, v := range []any{
		uint32(5), "s", []any{true, nil}, &wire.Map{Entries: []wire.MapEntry{{"k", int64(1)}}},
		&wire.Array{Constructor: 0x70, Elems: []any{uint32(1)}},
		wire.Encode(&wire.Attach{Name: "x", Source: &wire.Source{}}),
	} {
		b, err := wire.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, _, err := wire.Unmarshal(data)
		if err != nil {
			return
		}
		b, err := wire.Marshal(v)
		if err != nil {
			return // some decoded arrays cannot be re-encoded as given; not a crash
		}
		again, _, err := wire.Unmarshal(b)
		if err != nil {
			t.Fatalf("re-encoding % x gave % x, which does not decode: %v", data, b, err)
		}
		if !equalValues(v, again) {
			t.Fatalf("% x decoded to %#v, re-decoded as %#v", data, v, again)
		}
		_, _ = wire.Decode(v) // must not panic either
	})
}

// FuzzReadFrame: no input panics the frame reader.
func FuzzReadFrame(f *testing.F) {
	b, _ := wire.AppendFrame(nil, wire.Frame{Body: wire.Encode(&wire.Open{ContainerID: "c"})})
	f.Add(b)
	b, _ = wire.AppendFrame(nil, wire.Frame{Body: wire.Encode(&wire.Transfer{Handle: 1}), Payload: []byte("x")})
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			fr, err := wire.ReadFrame(r, 4096)
			if err != nil {
				return
			}
			if fr.Body != nil {
				_, _ = wire.Decode(fr.Body)
			}
		}
	})
}

// equalValues compares decoded values, treating NaN as equal to itself.
func equalValues(a, b any) bool {
	ab, _ := wire.Marshal(a)
	bb, _ := wire.Marshal(b)
	return bytes.Equal(ab, bb)
}
