package amqptest

import (
	"cmp"
	"slices"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// Settlement of what the server sent. With rcv-settle-mode first the client
// settles alone. With mode second (Service Bus PeekLock) it sends its outcome
// unsettled and waits: the server applies it and settles, echoing the outcome,
// or rejects with com.microsoft:message-lock-lost when the delivery's lock was
// lost meanwhile.

// disposed lists the delivery ids of a client disposition that the session
// knows of (unsettled or lost), in order. A huge range costs no more than the
// deliveries there are.
func (s *session) disposed(d *wire.Disposition) []uint32 {
	last := d.First
	if d.Last != nil {
		last = *d.Last
	}
	span := last - d.First // serial arithmetic: a range may wrap
	var ids []uint32
	if uint64(span) < uint64(len(s.unsettled)+len(s.lost)) {
		for id := d.First; ; id++ {
			if s.unsettled[id] != nil || s.lost[id] != nil {
				ids = append(ids, id)
			}
			if id == last {
				break
			}
		}
		return ids
	}
	for id := range s.unsettled {
		if id-d.First <= span {
			ids = append(ids, id)
		}
	}
	for id := range s.lost {
		if id-d.First <= span {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b uint32) int { return cmp.Compare(a-d.First, b-d.First) })
	return ids
}

// settleFromClient applies the client's disposition of one delivery and
// returns the queue that may have messages to offer again (nil if none).
func (s *session) settleFromClient(id uint32, settled bool, state any) *queue {
	if od := s.unsettled[id]; od != nil {
		second := od.link.rcvSettle == wire.RcvSecond
		if !settled && (!second || !isOutcome(state)) {
			return nil // a state update, not a settlement
		}
		s.takeDelivery(id)
		s.c.s.settle(od, state)
		if !settled {
			s.confirm(id, echoOutcome(state))
		}
		return od.link.q
	}
	l := s.lost[id]
	if l == nil {
		return nil
	}
	delete(s.lost, id)
	if !settled && l.rcvSettle == wire.RcvSecond {
		s.confirm(id, &wire.Rejected{Error: &wire.Error{Condition: condLockLost,
			Description: "the lock on the message was lost; it went back to the queue or was settled"}})
		return nil
	}
	s.c.s.log.Debug("amqptest: settle of a delivery whose lock was lost ignored", "queue", l.q.name, "delivery", id)
	return nil
}

// confirm settles a delivery from the server's side, the answer a client
// with rcv-settle-mode second waits for.
func (s *session) confirm(id uint32, state any) {
	s.c.send(s.channel, &wire.Disposition{Role: wire.RoleSender, First: id, Settled: true, State: state}, nil)
}

// isOutcome reports whether state is a terminal outcome.
func isOutcome(state any) bool {
	switch state.(type) {
	case *wire.Accepted, *wire.Rejected, *wire.Released, *wire.Modified:
		return true
	}
	return false
}

// echoOutcome is the outcome the server settles with: the client's own,
// except that a rejection carries no error back (the error was the client's
// reason for dead-lettering, not a failure of the settlement).
func echoOutcome(state any) any {
	if _, ok := state.(*wire.Rejected); ok {
		return &wire.Rejected{}
	}
	return state
}
