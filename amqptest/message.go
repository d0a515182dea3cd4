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

// annLockedUntil is when the lock on a delivered message runs out, as Service
// Bus annotates it (the sequence number and enqueued time are eventhubs.go's).
const annLockedUntil wire.Symbol = "x-opt-locked-until"

// onWire is m as a consumer of q gets it: the header counts its failed
// deliveries, and a queue's messages carry their sequence number, enqueued
// time and, when od holds a lock on it, when the lock runs out. A node's
// responses go as they are.
func (s *Server) onWire(q *queue, m *message, od *outDelivery) []byte {
	data := m.wireData()
	if !q.entity() {
		return data
	}
	a, err := cutAnnotations(data)
	if err != nil {
		return data // a message we cannot take apart goes as it came
	}
	a.ann.Set(annSequenceNumber, int64(m.seq))
	if !m.enqueued.IsZero() {
		a.ann.Set(annEnqueuedTime, m.enqueued)
	}
	if od != nil && od.locked() {
		a.ann.Set(annLockedUntil, od.until)
	}
	return a.encode()
}
