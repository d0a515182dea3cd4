package amqp091

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/message"
)

// hx turns "00 53 73 …" into bytes.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeAMQP10Primitives(t *testing.T) {
	ts := time.UnixMilli(1_700_000_000_123).UTC()
	for _, c := range []struct {
		name string
		in   string
		want any
	}{
		{"null", "40", nil},
		{"true", "41", true},
		{"false", "42", false},
		{"boolean-true", "56 01", true},
		{"boolean-false", "56 00", false},
		{"ubyte", "50 ff", uint8(255)},
		{"ushort", "60 ff fe", uint16(0xfffe)},
		{"uint", "70 00 01 00 00", uint32(65536)},
		{"smalluint", "52 2a", uint32(42)},
		{"uint0", "43", uint32(0)},
		{"ulong", "80 00 00 01 00 00 00 00 00", uint64(1 << 40)},
		{"smallulong", "53 07", uint64(7)},
		{"ulong0", "44", uint64(0)},
		{"byte", "51 ff", int8(-1)},
		{"short", "61 ff fe", int16(-2)},
		{"int", "71 ff ff ff fd", int32(-3)},
		{"smallint", "54 fc", int32(-4)},
		{"long", "81 ff ff ff ff ff ff ff fb", int64(-5)},
		{"smalllong", "55 d6", int64(-42)},
		{"float", "72 3f c0 00 00", float32(1.5)},
		{"double", "82 40 04 00 00 00 00 00 00", 2.5},
		{"timestamp", "83 00 00 01 8b cf e5 68 7b", ts},
		{"timestamp-before-1970", "83 ff ff ff ff ff ff ff ff", time.UnixMilli(-1).UTC()},
		{"uuid", "98 aa 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01", message.UUID{0xaa, 15: 1}},
		{"vbin8", "a0 03 00 01 02", []byte{0, 1, 2}},
		{"vbin8-empty", "a0 00", []byte{}},
		{"vbin32", "b0 00 00 00 02 de ad", []byte{0xde, 0xad}},
		{"str8", "a1 05 76 61 6c 75 65", "value"},
		{"str32", "b1 00 00 00 02 c3 a9", "é"},
		{"sym8", "a3 02 73 79", "sy"},
		{"sym32", "b3 00 00 00 01 61", "a"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeAMQP10(hx(c.in))
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	v, err := decodeAMQP10(hx("72 7f c0 00 00"))
	require.NoError(t, err)
	assert.True(t, math.IsNaN(float64(v.(float32))))
	v, err = decodeAMQP10(hx("83 00 00 00 00 00 00 00 00"))
	require.NoError(t, err)
	assert.Equal(t, time.UTC, v.(time.Time).Location(), "timestamps are UTC, as the AMQP 1.0 driver gives them")
}

func TestDecodeAMQP10Compounds(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want any
	}{
		{"list0", "45", []any{}},
		{"list8", "c0 04 02 55 01 41", []any{int64(1), true}},
		{"list32", "d0 00 00 00 09 00 00 00 02 55 01 a1 01 61", []any{int64(1), "a"}},
		{"list-nested", "c0 05 02 40 c0 01 00", []any{nil, []any{}}},
		{"map8-string-keys", "c1 07 02 a1 01 6b a1 01 76", map[string]any{"k": "v"}},
		{"map-symbol-keys", "c1 05 02 a3 01 6b 41", map[string]any{"k": true}},
		{"map32", "d1 00 00 00 0a 00 00 00 02 a1 01 6b a1 01 76", map[string]any{"k": "v"}},
		{"map-empty", "c1 01 00", map[string]any{}},
		{"map-ulong-keys", "c1 08 04 53 01 41 a3 01 6b 42", map[any]any{uint64(1): true, "k": false}},
		{"array8-int", "e0 04 02 54 01 ff", []int32{1, -1}},
		{"array32-long", "f0 00 00 00 15 00 00 00 02 81 00 00 00 00 00 00 00 01 ff ff ff ff ff ff ff ff", []int64{1, -1}},
		{"array-sym", "e0 06 02 a3 01 61 01 62", []message.Symbol{"a", "b"}},
		{"array-str", "e0 06 02 a1 01 61 01 62", []string{"a", "b"}},
		{"array-bool", "e0 04 02 56 01 00", []bool{true, false}},
		{"array-true", "e0 02 03 41", []bool{true, true, true}},
		{"array-byte", "e0 04 02 51 01 ff", []int8{1, -1}},
		{"array-ubyte", "e0 04 02 50 01 ff", []any{uint8(1), uint8(255)}},
		{"array-short", "e0 06 02 61 00 01 ff ff", []int16{1, -1}},
		{"array-ushort", "e0 06 02 60 00 01 ff ff", []uint16{1, 0xffff}},
		{"array-uint", "e0 04 02 52 01 02", []uint32{1, 2}},
		{"array-ulong", "e0 04 02 53 01 02", []uint64{1, 2}},
		{"array-ulong0", "e0 02 02 44", []uint64{0, 0}},
		{"array-float", "e0 06 01 72 3f c0 00 00", []float32{1.5}},
		{"array-double", "e0 0a 01 82 40 04 00 00 00 00 00 00", []float64{2.5}},
		{"array-timestamp", "e0 0a 01 83 00 00 00 00 00 00 00 01", []time.Time{time.UnixMilli(1).UTC()}},
		{"array-uuid", "e0 12 01 98 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02", []message.UUID{{1, 15: 2}}},
		{"array-binary", "e0 05 02 a0 01 00 00", [][]byte{{0}, {}}},
		{"array-null", "e0 02 02 40", []any{nil, nil}},
		{"array-list", "e0 08 02 c0 03 01 55 01 01 00", []any{[]any{int64(1)}, []any{}}},
		{"array-empty", "e0 02 00 71", []int32{}},
		{"array-of-arrays", "e0 0a 02 e0 03 01 52 07 03 01 52 08", []any{[]uint32{7}, []uint32{8}}},
		{"array-described", "e0 06 02 00 a3 01 64 41", []any{Described{"d", true}, Described{"d", true}}},
		{"described-ulong", "00 53 77 a1 01 78", Described{uint64(0x77), "x"}},
		{"described-symbol", "00 a3 03 61 3a 62 50 05", Described{"a:b", uint8(5)}},
		{"described-described", "00 53 01 00 53 02 40", Described{uint64(1), Described{uint64(2), nil}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeAMQP10(hx(c.in))
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestDecodeAMQP10Values(t *testing.T) {
	got, err := decodeAMQP10Values(hx("00 53 75 a0 02 63 64 00 53 75 a0 02 61 62"))
	require.NoError(t, err)
	assert.Equal(t, []any{Described{uint64(0x75), []byte("cd")}, Described{uint64(0x75), []byte("ab")}}, got)
	got, err = decodeAMQP10Values(nil)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// Every malformed input is an error wrapping errAMQP10, and none panics.
func TestDecodeAMQP10Malformed(t *testing.T) {
	deep := strings.Repeat("00 53 01 ", maxDepth+1) + "40"
	lists := "45"
	for range maxDepth + 1 {
		lists = fmt.Sprintf("c0 %02x 01 %s", 1+len(hx(lists)), lists)
	}
	for _, c := range []struct{ name, in string }{
		{"empty", ""},
		{"unknown-code", "02"},
		{"reserved-code", "ff"},
		{"truncated-uint", "70 00 01"},
		{"truncated-ulong", "80 00"},
		{"truncated-uuid", "98 00 01"},
		{"truncated-timestamp", "83 00"},
		{"boolean-not-0-or-1", "56 02"},
		{"boolean-without-byte", "56"},
		{"str8-too-long", "a1 05 61"},
		{"str32-too-long", "b1 ff ff ff ff 61"},
		{"vbin32-no-length", "b0 00 00"},
		{"list8-size-too-long", "c0 09 02 55 01"},
		{"list8-without-count", "c0 00"},
		{"list8-count-too-high", "c0 02 09 41"},
		{"list8-trailing", "c0 03 01 41 41"},
		{"list8-truncated-element", "c0 03 01 70 00"},
		{"list32-huge-count", "d0 00 00 00 05 7f ff ff ff 41"},
		{"map-odd", "c1 02 01 41"},
		{"map-binary-key", "c1 04 02 a0 00 41"},
		{"map-list-key", "c1 03 02 45 41"},
		{"map-described-key", "c1 06 02 00 53 01 41 41"},
		{"array-without-constructor", "e0 01 01"},
		{"array-count-too-high", "e0 03 05 52 01"},
		{"array-zero-width-huge", "f0 00 00 00 05 7f ff ff ff 40"},
		{"array-trailing", "e0 04 01 52 01 02"},
		{"array-bad-element", "e0 03 01 56 07"},
		{"array-unknown-constructor", "e0 03 01 02 00"},
		{"described-without-value", "00 53 77"},
		{"described-without-descriptor", "00"},
		{"too-deep-described", deep},
		{"too-deep-lists", lists},
		{"char", "73 00 00 00 61"},
		{"decimal32", "74 00 00 00 00"},
		{"decimal64", "84 00 00 00 00 00 00 00 00"},
		{"decimal128", "94 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"},
		{"trailing-bytes", "41 41"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := decodeAMQP10(hx(c.in))
			require.Error(t, err, "decoded %#v", v)
			assert.True(t, errors.Is(err, errAMQP10), "%v", err)
		})
	}
	_, err := decodeAMQP10Values(hx("41 c0 05"))
	assert.ErrorIs(t, err, errAMQP10)
}

func TestDecodeAMQP10ErrorOffsets(t *testing.T) {
	_, err := decodeAMQP10(hx("c0 04 02 41 70 00"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at byte 5:", "offsets count from the start of the input")
}

// The headers and bodies RabbitMQ 3.10.8 produced for messages an AMQP 1.0
// client sent (recorded from tests/crossprotocol_test.go's run).
var (
	recordedProperties = hx(`00 53 73 d0 00 00 00 89 00 00 00 0d a1 08 6f 72 64 65 72 2d 34 32 a0 05 67 75
		65 73 74 a1 0e 2f 71 75 65 75 65 73 2f 6f 72 64 65 72 73 a1 07 63 72 65 61 74 65 64 a1 0f 2f
		71 75 65 75 65 73 2f 72 65 70 6c 69 65 73 a1 06 63 6f 72 72 2d 31 a3 10 61 70 70 6c 69 63 61
		74 69 6f 6e 2f 6a 73 6f 6e a3 08 69 64 65 6e 74 69 74 79 83 00 00 01 a2 08 22 88 53 83 00 00
		01 a2 07 eb 99 d3 a1 07 67 72 6f 75 70 2d 37 52 03 a1 07 67 72 6f 75 70 2d 38`)
	recordedAppProperties = hx(`00 53 74 d1 00 00 00 7a 00 00 00 12 a1 04 62 6f 6f 6c 41 a1 06 64 6f 75 62 6c
		65 82 40 04 00 00 00 00 00 00 a1 05 69 6e 74 36 34 55 d6 a1 06 75 69 6e 74 33 32 52 2a a1 03
		73 79 6d a3 02 73 79 a1 06 73 74 72 69 6e 67 a1 05 76 61 6c 75 65 a1 06 62 69 6e 61 72 79 a0
		03 00 01 02 a1 04 75 75 69 64 98 aa 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 a1 04 74 69
		6d 65 83 00 00 01 a2 07 eb 99 d3`)
	recordedAnnotations = hx(`00 53 72 d1 00 00 00 58 00 00 00 08 a3 0c 78 2d 6f 70 74 2d 63 75 73 74 6f 6d
		a1 09 61 6e 6e 6f 74 61 74 65 64 a3 0c 78 2d 6f 70 74 2d 6e 75 6d 62 65 72 55 07 a3 0c 78 2d
		62 61 73 69 63 2d 74 79 70 65 a1 05 6f 72 64 65 72 a3 0e 78 2d 62 61 73 69 63 2d 61 70 70 2d
		69 64 a1 04 73 68 6f 70`)
	recordedFooter      = hx(`00 53 78 d1 00 00 00 15 00 00 00 02 a3 0a 78 2d 6f 70 74 2d 68 61 73 68 a1 03 61 62 63`)
	recordedValueBody   = hx(`00 53 77 a1 12 70 6c 61 69 6e 20 73 74 72 69 6e 67 20 76 61 6c 75 65`)
	recordedDataBodies  = hx(`00 53 75 a0 02 63 64 00 53 75 a0 02 61 62`)
	recordedSequenceBdy = hx(`00 53 76 d0 00 00 00 05 00 00 00 01 41 00 53 76 d0 00 00 00 09 00 00 00 02 a1 01 61 55 01`)
)

func TestFromDeliveryDecodesAMQP10Sections(t *testing.T) {
	created := time.UnixMilli(0x1a207eb99d3).UTC()
	d := &amqp.Delivery{
		Headers: amqp.Table{
			headerAMQP10Properties:  string(recordedProperties), // amqp091-go reads long strings as strings
			headerAMQP10AppProps:    string(recordedAppProperties),
			headerAMQP10Annotations: string(recordedAnnotations),
			headerAMQP10Footer:      string(recordedFooter),
			"x-death":               []any{amqp.Table{"count": int64(1)}}, // one the broker added
		},
		// What RabbitMQ derived from the properties, with its faults: the
		// creation time in milliseconds read as seconds, "/queue/" stripped.
		MessageId: "order-42", UserId: "guest", CorrelationId: "corr-1", ReplyTo: "/queues/replies",
		ContentType: "application/json", ContentEncoding: "identity", Timestamp: time.Unix(0x1a207eb99d3, 0),
		Type: typeAMQP10Body, Body: recordedValueBody, Exchange: "", RoutingKey: "q",
	}
	m := fromDelivery(d)
	assert.Equal(t, &message.Properties{
		MessageID: "order-42", UserID: []byte("guest"), To: message.Ptr("/queues/orders"), Subject: message.Ptr("created"),
		ReplyTo: message.Ptr("/queues/replies"), CorrelationID: "corr-1", ContentType: message.Ptr("application/json"),
		ContentEncoding: message.Ptr("identity"), AbsoluteExpiryTime: message.Ptr(created.Add(time.Hour)), CreationTime: &created,
		GroupID: message.Ptr("group-7"), GroupSequence: message.Ptr(uint32(3)), ReplyToGroupID: message.Ptr("group-8"),
	}, m.Properties)
	assert.Equal(t, map[string]any{
		"bool": true, "double": 2.5, "int64": int64(-42), "uint32": uint32(42), "sym": "sy", "string": "value",
		"binary": []byte{0, 1, 2}, "uuid": message.UUID{0xaa}, "time": created,
		"x-death": []any{map[string]any{"count": int64(1)}},
	}, m.ApplicationProperties)
	assert.Equal(t, message.Annotations{
		"x-opt-custom": "annotated", "x-opt-number": int64(7), AnnotationType: "order", AnnotationAppID: "shop",
		AnnotationExchange: "", AnnotationRoutingKey: "q",
	}, m.Annotations)
	assert.Equal(t, message.Annotations{"x-opt-hash": "abc"}, m.Footer)
	assert.Equal(t, message.Body{Value: "plain string value"}, m.Body)
}

func TestFromDeliveryDecodesAMQP10Bodies(t *testing.T) {
	for name, c := range map[string]struct {
		body []byte
		want message.Body
	}{
		"data-sections":     {recordedDataBodies, message.Body{Data: [][]byte{[]byte("cd"), []byte("ab")}}},
		"sequence-sections": {recordedSequenceBdy, message.Body{Sequence: [][]any{{true}, {"a", int64(1)}}}},
		"null-value":        {hx("00 53 77 40"), message.Body{Value: message.Null{}}},
		"map-value":         {hx("00 53 77 c1 05 02 a1 01 6b 41"), message.Body{Value: map[string]any{"k": true}}},
		"symbolic-value":    {hx("00 a3 11 61 6d 71 70 3a 61 6d 71 70 2d 76 61 6c 75 65 3a 2a 55 05"), message.Body{Value: int64(5)}},
	} {
		t.Run(name, func(t *testing.T) {
			m := fromDelivery(&amqp.Delivery{Type: typeAMQP10Body, Body: c.body})
			assert.Equal(t, c.want, m.Body)
			assert.NotContains(t, m.Annotations, AnnotationType, "the marker went with the encoding")
			assert.Nil(t, m.ApplicationProperties)
		})
	}
}

// What does not decode stays as RabbitMQ gave it: nothing is lost.
func TestFromDeliveryKeepsWhatDoesNotDecode(t *testing.T) {
	for name, body := range map[string][]byte{
		"truncated":           recordedValueBody[:len(recordedValueBody)-1],
		"not-a-section":       hx("a1 01 61"),
		"value-then-data":     hx("00 53 77 41 00 53 75 a0 00"),
		"two-values":          hx("00 53 77 41 00 53 77 41"),
		"data-then-sequence":  hx("00 53 75 a0 00 00 53 76 45"),
		"data-of-string":      hx("00 53 75 a1 00"),
		"properties-not-body": hx("00 53 73 45"),
		"empty":               {},
	} {
		t.Run(name, func(t *testing.T) {
			m := fromDelivery(&amqp.Delivery{Type: typeAMQP10Body, Body: body})
			assert.Equal(t, message.Body{Data: [][]byte{body}}, m.Body)
			assert.Equal(t, typeAMQP10Body, m.Annotations[AnnotationType])
		})
	}
	for name, h := range map[string]amqp.Table{
		"truncated":      {headerAMQP10AppProps: string(recordedAppProperties[:40])},
		"wrong-section":  {headerAMQP10AppProps: string(recordedFooter)},
		"not-a-map":      {headerAMQP10AppProps: "\x00\x53\x74\x45"},
		"ulong-key":      {headerAMQP10AppProps: "\x00\x53\x74\xc1\x04\x02\x53\x01\x41"},
		"not-a-string":   {headerAMQP10AppProps: int32(7)},
		"bad-properties": {headerAMQP10Properties: "\x00\x53\x73\xc0\x03\x01\x55\x01"},
		"bad-footer":     {headerAMQP10Footer: "\x00\x53\x78\xc0\x01\x00"},
	} {
		t.Run("header-"+name, func(t *testing.T) {
			m := fromDelivery(&amqp.Delivery{Headers: h, MessageId: "basic"})
			assert.Equal(t, map[string]any(h), m.ApplicationProperties)
			assert.Equal(t, "basic", m.Properties.MessageID, "the basic properties stay")
		})
	}
	t.Run("binary-header", func(t *testing.T) { // a field-table byte array ('x') decodes too
		m := fromDelivery(&amqp.Delivery{Headers: amqp.Table{headerAMQP10Footer: recordedFooter}})
		assert.Equal(t, message.Annotations{"x-opt-hash": "abc"}, m.Footer)
		assert.Nil(t, m.ApplicationProperties)
	})
}

func TestToPropertiesTypes(t *testing.T) {
	p, err := toProperties([]any{uint64(42), nil, nil, nil, nil, message.UUID{1}})
	require.NoError(t, err)
	assert.Equal(t, &message.Properties{MessageID: uint64(42), CorrelationID: message.UUID{1}}, p)
	p, err = toProperties([]any{[]byte{0xde}, "user-as-string"})
	require.NoError(t, err)
	assert.Equal(t, &message.Properties{MessageID: []byte{0xde}, UserID: []byte("user-as-string")}, p)
	p, err = toProperties([]any{})
	require.NoError(t, err)
	assert.Equal(t, &message.Properties{}, p)
	for i, fields := range [][]any{
		{int64(1)},                     // message-id
		{nil, true},                    // user-id
		{nil, nil, int32(1)},           // to
		{nil, nil, nil, nil, nil, 1.5}, // correlation-id
		{nil, nil, nil, nil, nil, nil, nil, nil, "not a time"},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, int64(3)}, // group-sequence
	} {
		_, err := toProperties(fields)
		assert.Error(t, err, "case %d", i)
	}
}

func FuzzDecodeAMQP10(f *testing.F) {
	for _, seed := range [][]byte{
		recordedProperties, recordedAppProperties, recordedAnnotations, recordedFooter,
		recordedValueBody, recordedDataBodies, recordedSequenceBdy,
		hx("e0 0a 02 e0 03 01 52 07 03 01 52 08"), hx("e0 06 02 00 a3 01 64 41"),
		hx("f0 00 00 00 05 00 00 ff ff 40"), hx("c1 08 04 53 01 41 a3 01 6b 42"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := decodeAMQP10(b); err != nil {
			require.ErrorIs(t, err, errAMQP10)
			require.Nil(t, v)
		}
		_, _ = decodeAMQP10Values(b)
		// The mapping never panics either, whatever the broker hands over.
		fromDelivery(&amqp.Delivery{Type: typeAMQP10Body, Body: b, Headers: amqp.Table{
			headerAMQP10Properties: string(b), headerAMQP10AppProps: string(b),
			headerAMQP10Annotations: string(b), headerAMQP10Footer: string(b),
		}})
	})
}
