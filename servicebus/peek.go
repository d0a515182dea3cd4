package servicebus

import (
	"context"
	"fmt"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// Peek returns up to max messages of the entity, starting at sequence number
// from, without locking or settling them; none (and no error) when there are no
// more. Each message's sequence number is in its annotations (SequenceNumber):
// peek again from the last one plus one to page on.
func (m *Management) Peek(ctx context.Context, from int64, max int) ([]*message.Message, error) {
	if max <= 0 {
		return nil, errorpolicy.InvalidOption(fmt.Sprintf("servicebus: Peek of %d messages", max))
	}
	codec, ok := link.Codec(link.CodecAMQP10)
	if !ok {
		return nil, errorpolicy.New(errorpolicy.CondNotSupported,
			"servicebus: Peek needs the AMQP 1.0 codec: import the amqp10 driver (package amqplink does)", nil)
	}
	body, err := m.request(ctx, "com.microsoft:peek-message", map[string]any{
		"from-sequence-number": from,
		"message-count":        int32(max),
	})
	if err != nil {
		return nil, err
	}
	v, _ := field(body, "messages")
	list, _ := v.([]any)
	out := make([]*message.Message, 0, len(list))
	for _, item := range list {
		raw, _ := field(item, "message")
		b, ok := raw.([]byte)
		if !ok {
			return nil, errorpolicy.New(errorpolicy.CondProtocol, "servicebus: a peeked message is not binary", nil)
		}
		msg, err := codec.Decode(b)
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	return out, nil
}
