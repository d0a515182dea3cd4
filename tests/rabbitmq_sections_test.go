package tests

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// Every message section RabbitMQ 3.10 carries from an AMQP 1.0 sender to an AMQP
// 1.0 receiver comes back equal.
func TestRabbitMQSectionsRoundTrip(t *testing.T) {
	client, admin, _ := rabbit(t)
	created := time.UnixMilli(time.Now().UnixMilli()).UTC()
	expires := created.Add(time.Hour)

	props := func() *message.Properties {
		return &message.Properties{
			MessageID:          "order-42",
			UserID:             []byte("guest"), // RabbitMQ checks it against the login
			To:                 message.Ptr("/queues/orders"),
			Subject:            message.Ptr("created"),
			ReplyTo:            message.Ptr("/queues/replies"),
			CorrelationID:      message.UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
			ContentType:        message.Ptr("application/json"),
			ContentEncoding:    message.Ptr("identity"),
			AbsoluteExpiryTime: &expires,
			CreationTime:       &created,
			GroupID:            message.Ptr("group-7"),
			GroupSequence:      message.Ptr(uint32(3)),
			ReplyToGroupID:     message.Ptr("group-8"),
		}
	}
	appProps := map[string]any{
		"string": "value", "int64": int64(-42), "uint32": uint32(42), "bool": true,
		"double": 2.5, "binary": []byte{0, 1, 2}, "uuid": message.UUID{0xaa},
		"time": created,
	}

	cases := map[string]*message.Message{
		"data-sections": {
			Header:                &message.Header{Durable: true, Priority: message.Ptr(uint8(7)), TTL: time.Minute},
			Annotations:           message.Annotations{"x-opt-custom": "annotated", "x-opt-number": int64(7)},
			Properties:            props(),
			ApplicationProperties: appProps,
			Body:                  message.Body{Data: [][]byte{[]byte(`{"id":42,"qty":3}`)}},
			Footer:                message.Annotations{"x-opt-hash": "abc"},
		},
		"amqp-value": {
			Properties: &message.Properties{MessageID: uint64(42)},
			Body: message.Body{Value: map[string]any{
				// go-amqp reads symbols nested in maps back as strings, so none here.
				"list": []any{int64(1), "two", 3.0}, "nested": map[string]any{"k": "v"},
			}},
		},
		"amqp-sequence": {
			Properties: &message.Properties{MessageID: message.UUID{9}},
			Body:       message.Body{Sequence: [][]any{{"a", int64(1), true}}},
		},
		"binary-message-id": {
			Properties: &message.Properties{MessageID: []byte{0xde, 0xad}},
			Body:       message.Body{Value: "plain string value"},
		},
	}
	for name, sent := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := testContext(t)
			q := admin.NewQueue(brokertest.QueueOptions{})
			sess := newSession(t, client)
			sendAll(t, sess, queueAddress(q.Name), sent)
			_, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.Name)})
			got := d.Message
			require.NoError(t, d.Accept(ctx))

			assert.Equal(t, sent.Properties, got.Properties, "properties")
			assert.Equal(t, sent.ApplicationProperties, got.ApplicationProperties, "application properties")
			assert.Equal(t, sent.Body, got.Body, "body")
			if sent.Header != nil {
				require.NotNil(t, got.Header)
				assert.Equal(t, sent.Header.Durable, got.Header.Durable)
				assert.Equal(t, sent.Header.Priority, got.Header.Priority)
				assert.Equal(t, sent.Header.TTL, got.Header.TTL)
			}
			for k, v := range sent.Annotations {
				assert.Equal(t, v, got.Annotations[k], "message annotation %v", k)
			}
			for k, v := range sent.Footer {
				assert.Equal(t, v, got.Footer[k], "footer %v", k)
			}
		})
	}
}

// RabbitMQ 3.10 reverses the order of a body's sections when there is more than
// one data or amqp-sequence section (go-amqp keeps the order: see amqp10's
// conversion tests). Send multi-section bodies to RabbitMQ only if order does not
// matter. The test pins the behaviour down so that the warning stays true.
func TestRabbitMQReversesMultipleBodySections(t *testing.T) {
	client, admin, _ := rabbit(t)
	for name, body := range map[string]message.Body{
		"data":     {Data: [][]byte{[]byte("one"), []byte("two"), []byte("three")}},
		"sequence": {Sequence: [][]any{{"one"}, {"two"}, {"three"}}},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := testContext(t)
			q := admin.NewQueue(brokertest.QueueOptions{})
			sess := newSession(t, client)
			sendAll(t, sess, queueAddress(q.Name), &message.Message{Body: body})
			_, d := receiveOne(t, sess, link.ReceiverOptions{Source: queueAddress(q.Name)})
			require.NoError(t, d.Accept(ctx))
			if body.Data != nil {
				assert.Equal(t, [][]byte{[]byte("three"), []byte("two"), []byte("one")}, d.Message.Body.Data)
			} else {
				assert.Equal(t, [][]any{{"three"}, {"two"}, {"one"}}, d.Message.Body.Sequence)
			}
		})
	}
}
