package amqp10

import (
	"context"
	"strings"
	"testing"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// go-amqp raises message-size-exceeded locally, as a bare *amqp.Error, for one
// message over the peer's limit; nothing ended. Were it classed as the link's
// end, package sender would drop a healthy link and refuse every later send.
func TestASendErrorAboutOneMessageEndsNothing(t *testing.T) {
	err := (&senderLink{}).sendError(context.Background(),
		&amqp.Error{Condition: amqp.ErrCondMessageSizeExceeded, Description: "encoded message size exceeds max of 1000"})
	var e *errorpolicy.Error
	require.ErrorAs(t, err, &e)
	assert.ErrorIs(t, err, errorpolicy.ErrMessageSizeExceeded)
	assert.Equal(t, errorpolicy.ScopeNone, e.Scope, "one message's failure ends no link")
}

// Our own size limit counts every section, not only the body: a small body with
// large application properties is refused before anything is sent.
func TestOurSizeLimitCountsEverySection(t *testing.T) {
	l := &senderLink{maxSize: 1000}
	small := message.NewText("hi")
	require.NoError(t, l.checkSize(small, toWire(small)))

	for name, m := range map[string]*message.Message{
		"application properties": {Body: message.Body{Data: [][]byte{[]byte("hi")}},
			ApplicationProperties: map[string]any{"k": strings.Repeat("x", 2000)}},
		"annotations": {Body: message.Body{Data: [][]byte{[]byte("hi")}},
			Annotations: message.Annotations{"x-opt-k": []byte(strings.Repeat("x", 2000))}},
		"properties": {Body: message.Body{Data: [][]byte{[]byte("hi")}},
			Properties: &message.Properties{Subject: message.Ptr(strings.Repeat("x", 2000))}},
		"a structured value": {Body: message.Body{Value: []any{strings.Repeat("x", 2000)}}},
	} {
		err := l.checkSize(m, toWire(m))
		assert.ErrorIs(t, err, errorpolicy.ErrMessageSizeExceeded, name)
	}
}
