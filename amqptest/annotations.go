package amqptest

import (
	"errors"
	"fmt"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// annotated is a message cut around its message annotations, so a service can
// set some without re-encoding the rest.
type annotated struct {
	head []byte    // the header, byte for byte
	ann  *wire.Map // the message annotations (empty when it had none)
	rest []byte    // properties onwards, byte for byte
}

// cutAnnotations cuts a message's sections. Delivery annotations are dropped:
// they were meant for the hop that took the message.
func cutAnnotations(data []byte) (annotated, error) {
	a := annotated{ann: &wire.Map{}}
	for len(data) > 0 {
		v, n, err := wire.Unmarshal(data)
		if err != nil {
			return a, err
		}
		d, ok := v.(*wire.Described)
		if !ok {
			return a, errors.New("a message section that is not described")
		}
		switch d.Descriptor {
		case wire.DescHeader:
			a.head = data[:n]
		case wire.DescDeliveryAnnotations:
		case wire.DescMessageAnnotations:
			m, ok := d.Value.(*wire.Map)
			if !ok && d.Value != nil {
				return a, fmt.Errorf("message annotations of type %T", d.Value)
			}
			if m != nil {
				a.ann = m
			}
		default:
			a.rest = data
			return a, nil
		}
		data = data[n:]
	}
	return a, nil
}

// partitionKey is the x-opt-partition-key annotation the sender set, if any.
func (a annotated) partitionKey() string {
	v, _ := a.ann.Get(annPartitionKey)
	k, _ := addressString(v)
	return k
}

// encode puts the message back together.
func (a annotated) encode() []byte {
	out := append([]byte(nil), a.head...)
	out, err := wire.Append(out, &wire.Described{Descriptor: wire.DescMessageAnnotations, Value: a.ann})
	if err != nil {
		// The map decoded from the wire, plus values of our own: it always encodes.
		panic(fmt.Sprintf("amqptest: encoding message annotations: %v", err))
	}
	return append(out, a.rest...)
}
