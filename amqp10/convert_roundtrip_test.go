package amqp10

import (
	"reflect"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/message"
)

// roundTrip encodes m as go-amqp would send it and decodes it as go-amqp would
// receive it.
func roundTrip(t *testing.T, m *message.Message) *message.Message {
	t.Helper()
	b, err := toWire(m).MarshalBinary()
	require.NoError(t, err)
	var w amqp.Message
	require.NoError(t, w.UnmarshalBinary(b))
	return fromWire(&w)
}

func TestConversionIsLossless(t *testing.T) {
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	full := &message.Message{
		Header:              &message.Header{Durable: true, Priority: message.Ptr(uint8(9)), TTL: 90 * time.Second, FirstAcquirer: true, DeliveryCount: 3},
		DeliveryAnnotations: message.Annotations{"x-opt-hop": "one"},
		Annotations: message.Annotations{
			"x-opt-partition-key": "p1", "x-opt-lock-token": message.UUID{1, 2}, "x-opt-kind": "k",
			"x-opt-list": []any{int64(1), "two"},
		},
		Properties: &message.Properties{
			MessageID: message.UUID{7}, UserID: []byte("me"), To: message.Ptr("/q"), Subject: message.Ptr("s"),
			ReplyTo: message.Ptr("/r"), CorrelationID: uint64(99), ContentType: message.Ptr("text/plain"),
			ContentEncoding: message.Ptr("gzip"), AbsoluteExpiryTime: message.Ptr(now.Add(time.Hour)), CreationTime: &now,
			GroupID: message.Ptr("g"), GroupSequence: message.Ptr(uint32(5)), ReplyToGroupID: message.Ptr("rg"),
		},
		ApplicationProperties: map[string]any{"s": "v", "n": int64(-1), "u": message.UUID{3}, "t": now, "b": []byte{1}},
		Body:                  message.Body{Data: [][]byte{[]byte("one"), []byte("two")}},
		Footer:                message.Annotations{"x-opt-hash": []byte{0xab}},
	}
	assert.Equal(t, full, roundTrip(t, full))

	for _, id := range []any{"string-id", message.UUID{8}, uint64(8), []byte{8}} {
		m := &message.Message{Properties: &message.Properties{MessageID: id, CorrelationID: id}}
		assert.Equal(t, m, roundTrip(t, m), "message-id %T", id)
	}

	value := &message.Message{Body: message.Body{Value: map[string]any{
		"list": []any{int64(1), "two", message.UUID{4}}, "nested": map[string]any{"k": int32(7)},
	}}}
	assert.Equal(t, value, roundTrip(t, value))

	seq := &message.Message{Body: message.Body{Sequence: [][]any{{"a", int64(1)}, {true}}}}
	assert.Equal(t, seq, roundTrip(t, seq))

	arrays := &message.Message{Body: message.Body{Value: []message.Symbol{"a", "b"}}}
	assert.Equal(t, arrays, roundTrip(t, arrays), "arrays of symbols keep their type")
}

// go-amqp decodes a lone symbol value as a string (only arrays of symbols keep
// their type), so a Symbol sent arrives as a string.
func TestSymbolsArriveAsStrings(t *testing.T) {
	m := &message.Message{ApplicationProperties: map[string]any{"k": message.Symbol("v")}, Body: message.Body{Value: message.Symbol("s")}}
	got := roundTrip(t, m)
	assert.Equal(t, "v", got.ApplicationProperties["k"])
	assert.Equal(t, "s", got.Body.Value)
}

// go-amqp reads an absent priority as 4 and leaves 4 off the wire, so an explicit
// 4 and an absent priority are one thing after a round trip.
func TestPriorityPresence(t *testing.T) {
	absent := &message.Message{Header: &message.Header{Durable: true}}
	assert.Nil(t, roundTrip(t, absent).Header.Priority)
	zero := &message.Message{Header: &message.Header{Priority: message.Ptr(uint8(0))}}
	assert.Equal(t, uint8(0), *roundTrip(t, zero).Header.Priority, "priority 0 is not the default")
	four := &message.Message{Header: &message.Header{Priority: message.Ptr(uint8(4))}}
	assert.Nil(t, roundTrip(t, four).Header.Priority)
}

func TestMapsAreSharedWhenNothingNeedsConverting(t *testing.T) {
	plain := map[string]any{"a": "b", "n": int64(1)}
	assert.Equal(t, reflect.ValueOf(plain).Pointer(), reflect.ValueOf(toWireMap(plain)).Pointer())
	withUUID := map[string]any{"u": message.UUID{1}}
	converted := toWireMap(withUUID)
	assert.NotEqual(t, reflect.ValueOf(withUUID).Pointer(), reflect.ValueOf(converted).Pointer())
	assert.IsType(t, amqp.UUID{}, converted["u"])
	assert.IsType(t, message.UUID{}, withUUID["u"], "the caller's map is not modified")
}

func BenchmarkToWire(b *testing.B) {
	m := message.NewText("hello")
	m.ApplicationProperties = map[string]any{"a": "b", "n": int64(1)}
	b.ReportAllocs()
	for b.Loop() {
		_ = toWire(m)
	}
}
