package tests

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqp091"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// A message published over one protocol and consumed over the other through the
// same RabbitMQ 3.10: what survives, field by field. The table is the one in
// amqp091/headers.go (and the README); each row is asserted below.
//
// AMQP 1.0 → AMQP 0-9-1 (RabbitMQ puts each 1.0 section it has no 0-9-1 field
// for in a header, as the section's AMQP 1.0 encoding in a long string; the
// amqp091 driver decodes them back):
//
//	header durable, priority, ttl   delivery-mode, priority, expiration       equal
//	header first-acquirer,          dropped                                   lost
//	  delivery-count
//	delivery annotations            the sender's connection is closed (see TestRabbitMQDeliveryAnnotationsCloseConnection)
//	message annotations             x-amqp-1.0-message-annotations            equal (decoded)
//	properties                      x-amqp-1.0-properties, and the basic      equal (decoded from the header)
//	                                properties it maps to
//	  creation-time                 basic timestamp holds the milliseconds    equal from the header only
//	                                as seconds (year 58864)
//	  reply-to                      basic reply-to without a "/queue/" prefix equal from the header only
//	  ulong message-id or           RabbitMQ cannot put an integer in a       the 0-9-1 consumer's connection
//	    correlation-id              short string                              closes (541); the message stays
//	application properties          x-amqp-1.0-app-properties                 equal (decoded); a symbol reads as a
//	                                                                          string, as over AMQP 1.0
//	footer                          x-amqp-1.0-footer                         equal (decoded)
//	one data section                the body as is, type "binary"             equal; x-basic-type stays "binary"
//	several data sections,          type "amqp-1.0", the body their           equal (decoded), in the reversed order
//	  amqp-sequence sections        encoding, reversed                        an AMQP 1.0 consumer sees too
//	amqp-value                      type "amqp-1.0", the body its encoding    equal (decoded)
//
// AMQP 0-9-1 → AMQP 1.0 (RabbitMQ builds the 1.0 sections from the basic
// properties; the amqp10 driver hands over what go-amqp decodes):
//
//	delivery-mode, priority,        header durable, priority, ttl             equal
//	  expiration
//	redelivered                     header first-acquirer = !redelivered      true on a first delivery
//	message-id, correlation-id      properties, as strings                    equal for strings; a uint64 or UUID
//	                                                                          id arrives as its text
//	user-id                         properties user-id as a string, not       the AMQP 1.0 receiver fails
//	                                binary: go-amqp refuses the transfer      (internal-error); the message goes
//	                                                                          back when the link closes
//	reply-to                        "/queue/" + reply-to                      changed
//	content-type, -encoding         symbols                                   equal
//	timestamp                       creation-time: the seconds read as        wrong (1970)
//	                                milliseconds
//	routing key                     subject                                   the queue name when sent to a queue
//	headers (application            dropped                                   lost
//	  properties)
//	type, app-id (x-basic-type,     dropped                                   lost
//	  x-basic-app-id)
//	Subject                         only the routing key of an exchange       replaced by the routing key
//	                                address without one
//	to, absolute-expiry-time,       no 0-9-1 field: the amqp091 driver never  lost
//	  group-id, group-sequence,     sends them
//	  reply-to-group-id, footer,
//	  other annotations
//	body                            one data section                          equal
func TestCrossProtocol(t *testing.T) {
	c10, admin, url := rabbit(t)
	c091 := dialWith(t, url, &amqplink.Options{Protocol: amqplink.AMQP091})
	created := time.UnixMilli(time.Now().UnixMilli()).UTC()
	expires := created.Add(time.Hour)

	t.Run("amqp10-to-amqp091", func(t *testing.T) {
		full := func(body message.Body) *message.Message {
			return &message.Message{
				Header: &message.Header{Durable: true, Priority: message.Ptr(uint8(7)), TTL: time.Minute,
					FirstAcquirer: true, DeliveryCount: 2},
				Annotations: message.Annotations{"x-opt-custom": "annotated", "x-opt-number": int64(7),
					"x-opt-list": []any{int64(1), "two"}, "x-opt-symbols": []message.Symbol{"a", "b"}},
				Properties: &message.Properties{
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
				},
				ApplicationProperties: map[string]any{
					"string": "value", "symbol": message.Symbol("sym"), "bool": true, "null": nil,
					"int8": int8(-1), "int16": int16(-2), "int32": int32(-3), "int64": int64(-42),
					"uint8": uint8(1), "uint16": uint16(2), "uint32": uint32(42), "uint64": uint64(1 << 40),
					"float": float32(1.5), "double": 2.5, "binary": []byte{0, 1, 2},
					"uuid": message.UUID{0xaa}, "time": created,
				},
				Body:   body,
				Footer: message.Annotations{"x-opt-hash": "abc"},
			}
		}
		// What both drivers hand out for the application properties sent.
		wantAppProps := func(m *message.Message) map[string]any {
			out := map[string]any{}
			for k, v := range m.ApplicationProperties {
				if s, ok := v.(message.Symbol); ok {
					v = string(s) // go-amqp, and so the amqp10 driver, reads a lone symbol as a string
				}
				out[k] = v
			}
			return out
		}

		t.Run("data", func(t *testing.T) {
			sent := full(message.Body{Data: [][]byte{[]byte(`{"id":42}`)}})
			q, raw, got := sendOver10(t, c10, c091, admin, url, sent)

			// What RabbitMQ hands any 0-9-1 client.
			assert.Equal(t, []string{"x-amqp-1.0-app-properties", "x-amqp-1.0-footer",
				"x-amqp-1.0-message-annotations", "x-amqp-1.0-properties"}, headerNames(raw.Headers))
			for name, prefix := range map[string]string{
				"x-amqp-1.0-message-annotations": "\x00\x53\x72", // described by the section's code
				"x-amqp-1.0-properties":          "\x00\x53\x73",
				"x-amqp-1.0-app-properties":      "\x00\x53\x74",
				"x-amqp-1.0-footer":              "\x00\x53\x78",
			} {
				v, ok := raw.Headers[name].(string) // a long string; amqp091-go reads those as strings
				require.True(t, ok, "%s is a %T", name, raw.Headers[name])
				assert.True(t, strings.HasPrefix(v, prefix), "%s: % x", name, v)
			}
			assert.Equal(t, "binary", raw.Type, "RabbitMQ's mark for one data section")
			assert.Equal(t, []byte(`{"id":42}`), raw.Body)
			assert.Equal(t, amqp.Persistent, raw.DeliveryMode)
			assert.Equal(t, uint8(7), raw.Priority)
			assert.Equal(t, "60000", raw.Expiration)
			assert.Equal(t, "order-42", raw.MessageId)
			corr := sent.Properties.CorrelationID.(message.UUID)
			assert.Equal(t, string(corr[:]), raw.CorrelationId, "a UUID's 16 bytes")
			assert.Equal(t, "guest", raw.UserId)
			assert.Equal(t, "/queues/replies", raw.ReplyTo)
			assert.Equal(t, "application/json", raw.ContentType)
			assert.Equal(t, "identity", raw.ContentEncoding)
			assert.Equal(t, created.UnixMilli(), raw.Timestamp.Unix(), "the milliseconds, read as seconds")
			assert.Empty(t, raw.AppId)
			assert.Equal(t, q, raw.RoutingKey, "sent to a queue: the subject is not the routing key")

			// What the amqp091 driver makes of it.
			require.NotNil(t, got.Header)
			assert.True(t, got.Header.Durable)
			assert.Equal(t, sent.Header.Priority, got.Header.Priority)
			assert.Equal(t, time.Minute, got.Header.TTL)
			assert.False(t, got.Header.FirstAcquirer, "lost")
			assert.Zero(t, got.Header.DeliveryCount, "lost")
			assert.Equal(t, sent.Properties, got.Properties, "every property, decoded from x-amqp-1.0-properties")
			assert.Equal(t, wantAppProps(sent), got.ApplicationProperties)
			assert.Equal(t, message.Annotations{
				"x-opt-custom": "annotated", "x-opt-number": int64(7),
				"x-opt-list": []any{int64(1), "two"}, "x-opt-symbols": []message.Symbol{"a", "b"},
				amqp091.AnnotationType:       "binary", // RabbitMQ's mark stays: a 0-9-1 sender may set it too
				amqp091.AnnotationExchange:   "",
				amqp091.AnnotationRoutingKey: q,
			}, got.Annotations)
			assert.Equal(t, sent.Footer, got.Footer)
			assert.Equal(t, sent.Body, got.Body)
		})

		t.Run("amqp-value-string", func(t *testing.T) {
			sent := full(message.Body{Value: "plain string value"})
			sent.Annotations[amqp091.AnnotationType] = "order" // the sender's type comes back
			q, raw, got := sendOver10(t, c10, c091, admin, url, sent)

			assert.Equal(t, "amqp-1.0", raw.Type)
			assert.Equal(t, []byte("\x00\x53\x77\xa1\x12plain string value"), raw.Body, "the amqp-value section's encoding")

			assert.Equal(t, sent.Body, got.Body)
			assert.Equal(t, sent.Properties, got.Properties)
			assert.Equal(t, wantAppProps(sent), got.ApplicationProperties)
			assert.Equal(t, sent.Footer, got.Footer)
			want := message.Annotations{amqp091.AnnotationExchange: "", amqp091.AnnotationRoutingKey: q}
			for k, v := range sent.Annotations {
				want[k] = v
			}
			assert.Equal(t, want, got.Annotations)
		})

		for name, c := range map[string]struct{ sent, want message.Body }{
			"amqp-value-map": {
				sent: message.Body{Value: map[string]any{"list": []any{int64(1), "two", 3.0}, "nested": map[string]any{"k": "v"}}},
				want: message.Body{Value: map[string]any{"list": []any{int64(1), "two", 3.0}, "nested": map[string]any{"k": "v"}}},
			},
			"amqp-value-null": {sent: message.Body{Value: message.Null{}}, want: message.Body{Value: message.Null{}}},
			// Reversed by RabbitMQ, as for an AMQP 1.0 consumer (TestRabbitMQReversesMultipleBodySections).
			"data-sections": {
				sent: message.Body{Data: [][]byte{[]byte("one"), []byte("two")}},
				want: message.Body{Data: [][]byte{[]byte("two"), []byte("one")}},
			},
			"amqp-sequence": {
				sent: message.Body{Sequence: [][]any{{"a", int64(1)}, {true}}},
				want: message.Body{Sequence: [][]any{{true}, {"a", int64(1)}}},
			},
		} {
			t.Run(name, func(t *testing.T) {
				_, raw, got := sendOver10(t, c10, c091, admin, url, &message.Message{Body: c.sent})
				assert.Equal(t, "amqp-1.0", raw.Type)
				assert.Empty(t, raw.Headers, "no sections but the body")
				assert.Equal(t, c.want, got.Body)
				assert.NotContains(t, got.Annotations, amqp091.AnnotationType)
				assert.Nil(t, got.ApplicationProperties)
			})
		}

		t.Run("message-ids", func(t *testing.T) {
			for _, id := range []any{message.UUID{9, 8, 7}, []byte{0xde, 0xad}, "text"} {
				sent := &message.Message{Properties: &message.Properties{MessageID: id, CorrelationID: id},
					Body: message.Body{Data: [][]byte{[]byte("x")}}}
				_, _, got := sendOver10(t, c10, c091, admin, url, sent)
				assert.Equal(t, sent.Properties, got.Properties, "a %T id keeps its type", id)
				assert.Nil(t, got.ApplicationProperties, "the header went into the properties")
			}
		})

		// RabbitMQ cannot write a ulong id into 0-9-1's short string: it closes the
		// consumer's connection with 541 INTERNAL_ERROR, and the message stays.
		for name, props := range map[string]*message.Properties{
			"ulong-message-id":     {MessageID: uint64(42)},
			"ulong-correlation-id": {CorrelationID: uint64(42)},
		} {
			t.Run(name, func(t *testing.T) {
				ctx := testContext(t)
				q := admin.NewQueue(brokertest.QueueOptions{})
				sendAll(t, newSession(t, c10), queueAddress(q.Name),
					&message.Message{Properties: props, Body: message.Body{Data: [][]byte{[]byte("x")}}})
				victim := dialWith(t, url, &amqplink.Options{Protocol: amqplink.AMQP091, NoRecovery: true})
				rcv, err := newSession(t, victim).NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(q.Name)})
				require.NoError(t, err)
				closeAtCleanup(t, rcv.Close)
				require.NoError(t, rcv.IssueCredit(1))
				_, err = rcv.Receive(ctx)
				require.Error(t, err)
				select {
				case <-victim.Done():
				case <-ctx.Done():
					t.Fatal("the connection did not end")
				}
				var e *errorpolicy.Error
				require.ErrorAs(t, victim.Err(), &e, "%v", victim.Err())
				assert.Equal(t, uint16(541), e.ReplyCode, "%v", victim.Err())
				assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1), "the message is back in the queue")
			})
		}
	})

	t.Run("amqp091-to-amqp10", func(t *testing.T) {
		t.Run("every-field", func(t *testing.T) {
			ctx := testContext(t)
			sentAt := time.Unix(created.Unix(), 0).UTC() // 0-9-1 timestamps are seconds
			sent := &message.Message{
				Header: &message.Header{Durable: true, Priority: message.Ptr(uint8(7)), TTL: time.Minute},
				Annotations: message.Annotations{amqp091.AnnotationType: "order", amqp091.AnnotationAppID: "shop",
					"x-opt-custom": "not sent: 0-9-1 has no field for it"},
				Properties: &message.Properties{
					MessageID: "order-42", CorrelationID: "corr-1", ReplyTo: message.Ptr("replies"),
					ContentType: message.Ptr("application/json"), ContentEncoding: message.Ptr("identity"),
					CreationTime: &sentAt,
					To:           message.Ptr("/queues/orders"), Subject: message.Ptr("created"), GroupID: message.Ptr("g"),
				},
				ApplicationProperties: map[string]any{"string": "value", "int64": int64(-42), "bool": true, "double": 2.5},
				Body:                  message.Body{Data: [][]byte{[]byte(`{"id":42}`)}},
			}
			q := admin.NewQueue(brokertest.QueueOptions{})
			sendAll(t, newSession(t, c091), queueAddress(q.Name), sent)
			_, d := receiveOne(t, newSession(t, c10), link.ReceiverOptions{Source: queueAddress(q.Name)})
			require.NoError(t, d.Accept(ctx))
			got := d.Message

			require.NotNil(t, got.Header)
			assert.True(t, got.Header.Durable)
			assert.Equal(t, sent.Header.Priority, got.Header.Priority)
			assert.Equal(t, time.Minute, got.Header.TTL)
			assert.True(t, got.Header.FirstAcquirer, "not redelivered")
			assert.Zero(t, got.Header.DeliveryCount)
			assert.Equal(t, &message.Properties{
				MessageID:       "order-42",
				CorrelationID:   "corr-1",
				ReplyTo:         message.Ptr("/queue/replies"), // RabbitMQ's prefix
				ContentType:     message.Ptr("application/json"),
				ContentEncoding: message.Ptr("identity"),
				CreationTime:    message.Ptr(time.UnixMilli(sentAt.Unix()).UTC()), // the seconds, read as milliseconds
				Subject:         message.Ptr(q.Name),                              // the routing key
			}, got.Properties)
			assert.Nil(t, got.ApplicationProperties, "0-9-1 headers are dropped")
			assert.Nil(t, got.Annotations, "type and app-id are dropped")
			assert.Nil(t, got.DeliveryAnnotations)
			assert.Nil(t, got.Footer)
			assert.Equal(t, sent.Body, got.Body)
		})

		t.Run("ids-arrive-as-text", func(t *testing.T) {
			ctx := testContext(t)
			uuid := message.UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
			q := admin.NewQueue(brokertest.QueueOptions{})
			sendAll(t, newSession(t, c091), queueAddress(q.Name), &message.Message{
				Properties: &message.Properties{MessageID: uint64(42), CorrelationID: uuid},
				Body:       message.Body{Data: [][]byte{[]byte("x")}},
			})
			_, d := receiveOne(t, newSession(t, c10), link.ReceiverOptions{Source: queueAddress(q.Name)})
			require.NoError(t, d.Accept(ctx))
			assert.Equal(t, "42", d.Message.Properties.MessageID)
			assert.Equal(t, uuid.String(), d.Message.Properties.CorrelationID)
		})

		// RabbitMQ writes a 0-9-1 user-id into the 1.0 properties as a string where
		// AMQP 1.0 has binary; go-amqp refuses the transfer, which fails the
		// receiver. The message stays unacknowledged until the link is closed, then
		// goes back to the queue, where it fails the next AMQP 1.0 receiver too.
		t.Run("user-id-fails-the-receiver", func(t *testing.T) {
			ctx := testContext(t)
			q := admin.NewQueue(brokertest.QueueOptions{})
			sendAll(t, newSession(t, c091), queueAddress(q.Name), &message.Message{
				Properties: &message.Properties{UserID: []byte("guest")},
				Body:       message.Body{Data: [][]byte{[]byte("x")}},
			})
			rcv, err := newSession(t, c10).NewReceiverLink(ctx, link.ReceiverOptions{Source: queueAddress(q.Name)})
			require.NoError(t, err)
			closeAtCleanup(t, rcv.Close)
			require.NoError(t, rcv.IssueCredit(1))
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, err = rcv.Receive(rctx)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "not a recognized binary type")
			require.NoError(t, rcv.Close(ctx))
			assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1), "the message is back in the queue once the link is closed")
		})
	})
}

// sendOver10 sends m twice over AMQP 1.0 to a new queue, takes the first copy
// with plain amqp091-go (what RabbitMQ hands any 0-9-1 client) and receives the
// second through the amqp091 driver.
func sendOver10(t *testing.T, c10, c091 *amqplink.Client, admin *brokertest.Admin, url string, m *message.Message) (string, amqp.Delivery, *message.Message) {
	t.Helper()
	ctx := testContext(t)
	q := admin.NewQueue(brokertest.QueueOptions{})
	sendAll(t, newSession(t, c10), queueAddress(q.Name), m, m)
	raw := rawGet(t, url, q.Name)
	t.Logf("0-9-1 sees: type=%q message-id=%q timestamp=%v body=% x", raw.Type, raw.MessageId, raw.Timestamp, raw.Body)
	for _, name := range headerNames(raw.Headers) {
		t.Logf("  header %s (%T): % x", name, raw.Headers[name], raw.Headers[name])
	}
	_, d := receiveOne(t, newSession(t, c091), link.ReceiverOptions{Source: queueAddress(q.Name)})
	require.NoError(t, d.Accept(ctx))
	return q.Name, raw, d.Message
}

// rawGet takes one message off the queue with amqp091-go's basic.get.
func rawGet(t *testing.T, url, queue string) amqp.Delivery {
	t.Helper()
	conn, err := amqp.Dial(url)
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	d, ok, err := ch.Get(queue, true)
	require.NoError(t, err)
	require.True(t, ok, "queue %s is empty", queue)
	d.Acknowledger = nil
	return d
}

func headerNames(h amqp.Table) []string {
	var names []string
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
