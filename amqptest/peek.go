package amqptest

import (
	"cmp"
	"slices"
	"time"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// MessageInfo is a message in a queue, as Peek shows it.
type MessageInfo struct {
	// SequenceNumber is its x-opt-sequence-number: its place in the queue's
	// arrivals, from 1, kept when it goes back to the queue.
	SequenceNumber int64
	EnqueuedTime   time.Time
	// DeliveryCount is its failed deliveries so far: the header's delivery-count.
	DeliveryCount uint32
	// Data is its body's data sections, joined; nil when the body is not data.
	Data []byte
	// Message is the encoded message as a consumer would get it, with its
	// annotations, ready for amqp.Message.UnmarshalBinary.
	Message []byte
	// Locked is set while a consumer holds it, unsettled, under a lock.
	Locked bool
	// LockToken is the lock's token in RFC 4122 byte order, as renew-lock
	// takes it (the delivery tag holds it in .NET GUID byte order).
	LockToken [16]byte
	// LockedUntil is when the lock runs out.
	LockedUntil time.Time
}

// Peek returns up to n messages of the queue called name, the ready ones and
// those locked by a consumer, in sequence order, without touching them; nil
// when there is no such queue.
func (s *Server) Peek(name string, n int) []MessageInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil || n <= 0 {
		return nil
	}
	var out []MessageInfo
	for _, p := range s.peek(q, 0, n) {
		mi := MessageInfo{SequenceNumber: int64(p.msg.seq), EnqueuedTime: p.msg.enqueued,
			DeliveryCount: p.msg.failed, Data: dataSections(p.msg.data), Message: p.data}
		if p.od != nil {
			mi.Locked, mi.LockToken, mi.LockedUntil = true, p.od.token, p.od.until
		}
		out = append(out, mi)
	}
	return out
}

// peeked is a message seen by a peek, with the delivery locking it (if any)
// and its encoding.
type peeked struct {
	msg  *message
	od   *outDelivery
	data []byte
}

// peek returns up to n of q's messages, ready or locked, whose sequence
// number is at least from, in sequence order. Callers hold the server's lock.
func (s *Server) peek(q *queue, from int64, n int) []peeked {
	var all []peeked
	for _, m := range q.ready {
		if int64(m.seq) >= from {
			all = append(all, peeked{msg: m})
		}
	}
	for _, od := range q.locks {
		if int64(od.msg.seq) >= from {
			all = append(all, peeked{msg: od.msg, od: od})
		}
	}
	slices.SortFunc(all, func(a, b peeked) int { return cmp.Compare(a.msg.seq, b.msg.seq) })
	all = all[:min(n, len(all))]
	for i := range all {
		all[i].data = s.onWire(q, all[i].msg, all[i].od)
	}
	return all
}

// dataSections joins the data sections of an encoded message; nil when it has
// none.
func dataSections(data []byte) []byte {
	var out []byte
	for len(data) > 0 {
		v, used, err := wire.Unmarshal(data)
		if err != nil {
			break
		}
		data = data[used:]
		if d, ok := v.(*wire.Described); ok && d.Descriptor == wire.DescData {
			if b, ok := d.Value.([]byte); ok {
				out = append(out, b...)
			}
		}
	}
	return out
}
