package amqp10

import (
	"github.com/Azure/go-amqp"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

func init() { link.RegisterCodec(link.CodecAMQP10, codec{}) }

// codec is the AMQP 1.0 message encoding, for packages that meet encoded
// messages inside service-node responses.
type codec struct{}

func (codec) Encode(m *message.Message) ([]byte, error) {
	if m == nil {
		return nil, errorpolicy.InvalidOption("amqp10: Encode of a nil message")
	}
	b, err := toWire(m).MarshalBinary()
	if err != nil {
		return nil, errorpolicy.New(errorpolicy.CondDecodeError, "amqp10: encoding the message", err)
	}
	return b, nil
}

func (codec) Decode(b []byte) (*message.Message, error) {
	var w amqp.Message
	if err := w.UnmarshalBinary(b); err != nil {
		return nil, errorpolicy.New(errorpolicy.CondDecodeError, "amqp10: decoding a message", err)
	}
	return fromWire(&w), nil
}
