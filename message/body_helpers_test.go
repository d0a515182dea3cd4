package message_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/message"
)

func TestBodyHelpers(t *testing.T) {
	m := message.NewText("héllo")
	assert.Equal(t, message.ContentTypeText, *m.Properties.ContentType)
	text, err := m.Text()
	require.NoError(t, err)
	assert.Equal(t, "héllo", text)

	type order struct {
		ID  int `json:"id"`
		Qty int `json:"qty"`
	}
	j, err := message.NewJSON(order{ID: 42, Qty: 3})
	require.NoError(t, err)
	assert.Equal(t, message.ContentTypeJSON, *j.Properties.ContentType)
	var got order
	require.NoError(t, j.DecodeJSON(&got))
	assert.Equal(t, order{42, 3}, got)

	_, err = message.NewJSON(func() {})
	assert.Error(t, err, "functions cannot be encoded")

	multi := &message.Message{Body: message.Body{Data: [][]byte{[]byte(`{"id":`), []byte(`7}`)}}}
	b, err := multi.Bytes()
	require.NoError(t, err)
	assert.Equal(t, `{"id":7}`, string(b))
	require.NoError(t, multi.DecodeJSON(&got))
	assert.Equal(t, 7, got.ID)

	value := &message.Message{Body: message.Body{Value: "as value"}}
	text, err = value.Text()
	require.NoError(t, err)
	assert.Equal(t, "as value", text)

	seq := &message.Message{Body: message.Body{Sequence: [][]any{{1}}}}
	_, err = seq.Bytes()
	assert.ErrorIs(t, err, message.ErrBodyKind)
	_, err = seq.Text()
	assert.ErrorIs(t, err, message.ErrBodyKind)

	empty := &message.Message{}
	b, err = empty.Bytes()
	require.NoError(t, err)
	assert.Nil(t, b)
}

func TestOutcomeStrings(t *testing.T) {
	assert.Equal(t, "accepted", message.Accepted{}.String())
	assert.Equal(t, "released", message.Released{}.String())
	assert.Equal(t, "rejected", message.Rejected{}.String())
	assert.Equal(t, "rejected(amqp:not-allowed: no)", message.Rejected{Condition: "amqp:not-allowed", Description: "no"}.String())
	assert.Equal(t, "modified(delivery-failed=true, undeliverable-here=false)", message.Modified{DeliveryFailed: true}.String())
	assert.Equal(t, "00000000-0000-0000-0000-000000000000", message.UUID{}.String())
}
