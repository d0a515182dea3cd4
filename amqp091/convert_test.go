package amqp091

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// fromDelivery is the message convertDelivery makes of d, without a cache.
func fromDelivery(d *amqp.Delivery) *message.Message { return convertDelivery(d, nil).m() }

// deliveryOf is what the broker would deliver for p.
func deliveryOf(p amqp.Publishing) *amqp.Delivery {
	return &amqp.Delivery{
		Headers: p.Headers, ContentType: p.ContentType, ContentEncoding: p.ContentEncoding,
		DeliveryMode: p.DeliveryMode, Priority: p.Priority, CorrelationId: p.CorrelationId,
		ReplyTo: p.ReplyTo, Expiration: p.Expiration, MessageId: p.MessageId, Timestamp: p.Timestamp,
		Type: p.Type, UserId: p.UserId, AppId: p.AppId, Body: p.Body,
		Exchange: "ex", RoutingKey: "rk", ConsumerTag: "ctag", DeliveryTag: 7,
	}
}

func TestMessageSurvivesTheMapping(t *testing.T) {
	created := time.Unix(1_700_000_000, 0)
	in := &message.Message{
		Header: &message.Header{Durable: true, Priority: message.Ptr[uint8](7), TTL: 1500 * time.Millisecond},
		Properties: &message.Properties{
			MessageID: "m-1", CorrelationID: "c-1", UserID: []byte("guest"), ReplyTo: message.Ptr("replies"),
			ContentType: message.Ptr("text/plain"), ContentEncoding: message.Ptr("identity"), CreationTime: &created,
		},
		Annotations:           message.Annotations{AnnotationType: "order", AnnotationAppID: "shop"},
		ApplicationProperties: map[string]any{"n": int64(3), "s": "x", "b": true},
		Body:                  message.Body{Data: [][]byte{[]byte("hel"), []byte("lo")}},
	}
	p, err := toPublishing(in)
	require.NoError(t, err)
	assert.Equal(t, "1500", p.Expiration)
	assert.Equal(t, amqp.Persistent, p.DeliveryMode)
	out := fromDelivery(deliveryOf(p))

	assert.Equal(t, [][]byte{[]byte("hello")}, out.Body.Data, "data sections are joined")
	assert.Equal(t, in.Header.Durable, out.Header.Durable)
	assert.Equal(t, *in.Header.Priority, *out.Header.Priority)
	assert.Equal(t, in.Header.TTL, out.Header.TTL)
	assert.Equal(t, in.Properties.MessageID, out.Properties.MessageID)
	assert.Equal(t, in.Properties.CorrelationID, out.Properties.CorrelationID)
	assert.Equal(t, in.Properties.UserID, out.Properties.UserID)
	assert.Equal(t, *in.Properties.ReplyTo, *out.Properties.ReplyTo)
	assert.Equal(t, *in.Properties.ContentType, *out.Properties.ContentType)
	assert.Equal(t, *in.Properties.ContentEncoding, *out.Properties.ContentEncoding)
	assert.True(t, created.Equal(*out.Properties.CreationTime))
	assert.Equal(t, "order", out.Annotations[AnnotationType])
	assert.Equal(t, "shop", out.Annotations[AnnotationAppID])
	assert.Equal(t, "ex", out.Annotations[AnnotationExchange])
	assert.Equal(t, "rk", out.Annotations[AnnotationRoutingKey])
	assert.Nil(t, out.DeliveryAnnotations)
	d := newDelivery(deliveryOf(p), nil, false, nil, nil)
	tag, ok := DeliveryTag(d)
	assert.True(t, ok)
	assert.Equal(t, uint64(7), tag)
	assert.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 7}, d.Tag)
	ctag, _ := ConsumerTag(d)
	assert.Equal(t, "ctag", ctag)
	assert.Equal(t, in.ApplicationProperties, out.ApplicationProperties)
}

func TestBodiesWithoutA091Form(t *testing.T) {
	p, err := toPublishing(&message.Message{Body: message.Body{Value: "text"}})
	require.NoError(t, err)
	assert.Equal(t, []byte("text"), p.Body, "a string value is sent as its bytes")
	_, err = toPublishing(&message.Message{Body: message.Body{Value: int64(5)}})
	assert.ErrorIs(t, err, errorpolicy.ErrNotSupported)
	_, err = toPublishing(&message.Message{Body: message.Body{Sequence: [][]any{{1}}}})
	assert.ErrorIs(t, err, errorpolicy.ErrNotSupported)
	_, err = toPublishing(&message.Message{ApplicationProperties: map[string]any{"bad": struct{}{}}})
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidField)
}

func TestTranslateReplyCodes(t *testing.T) {
	err := translate(&amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no queue 'q'", Server: true}, errorpolicy.ScopeSession)
	assert.ErrorIs(t, err, errorpolicy.ErrNotFound)
	var e *errorpolicy.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, uint16(404), e.ReplyCode)
	assert.Equal(t, errorpolicy.ScopeSession, e.Scope)
	assert.Equal(t, errorpolicy.Fatal, e.Class)

	assert.ErrorIs(t, translate(amqp.ErrClosed, errorpolicy.ScopeSession), errorpolicy.ErrLinkLost)
	assert.ErrorIs(t, translate(amqp.ErrClosed, errorpolicy.ScopeConn), errorpolicy.ErrConnectionLost)
	assert.ErrorIs(t, translate(&amqp.Error{Code: amqp.ConnectionForced, Reason: "shutdown", Server: true}, errorpolicy.ScopeConn), errorpolicy.ErrConnectionForced)
}
