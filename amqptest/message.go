package amqptest

import (
	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// withDeliveryCount returns the message's sections with the header's
// delivery-count set to n: the header is rewritten, or added when the message
// has none. The other sections are kept byte for byte.
func withDeliveryCount(data []byte, n uint32) []byte {
	fields := []any{}
	rest := data
	if v, used, err := wire.Unmarshal(data); err == nil {
		if d, ok := v.(*wire.Described); ok && d.Descriptor == wire.DescHeader {
			if l, ok := d.Value.([]any); ok {
				fields = l
			}
			rest = data[used:]
		}
	}
	for len(fields) < 5 {
		fields = append(fields, nil)
	}
	fields[4] = n // delivery-count
	out, err := wire.Append(nil, &wire.Described{Descriptor: wire.DescHeader, Value: fields})
	if err != nil {
		return data // a header we could not re-encode: leave the message as it was
	}
	return append(out, rest...)
}
