package amqptest

import (
	"crypto/rand"
	"time"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// Locks, as Azure Service Bus's PeekLock has them. Every unsettled delivery
// carries a random lock token as its delivery tag. On a queue (not a node's
// reply link) the token also locks the message for the queue's lock duration:
// renew-lock on $management extends it; when it runs out first, the message
// goes back to the queue as a failed delivery, and a late settle of it on the
// link is told com.microsoft:message-lock-lost.
//
// A lock taken by a link with rcv-settle-mode second (Service Bus PeekLock)
// outlives the link, as on Service Bus, where a client whose link is gone
// settles through $management while the lock holds. Unsettled deliveries of a
// mode-first link go back to the queue when the link ends, as on other brokers.

const condLockLost wire.Symbol = "com.microsoft:message-lock-lost"

// defaultLockDuration is Service Bus's default lock duration.
const defaultLockDuration = 30 * time.Second

// lock is an unsettled delivery's lock token and, on a queue, its lock.
type lock struct {
	token  wire.UUID    // RFC 4122 byte order, as lock-tokens carry it
	until  time.Time    // when the lock runs out
	timer  *serverTimer // expires the lock; nil when the delivery holds none
	ended  bool         // settled, expired or given back: no longer counted
	orphan bool         // its link is gone; the lock alone keeps it
}

// locked reports whether the delivery holds a lock.
func (lk *lock) locked() bool { return lk.timer != nil }

// newToken returns a random (version 4) UUID.
func newToken() wire.UUID {
	var u wire.UUID
	_, _ = rand.Read(u[:]) // never fails (crypto/rand)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// guidBytes is u in .NET GUID byte order, which the delivery tag uses: the
// first three fields little-endian. The conversion is its own inverse.
func guidBytes(u wire.UUID) []byte {
	b := u
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return b[:]
}

// entity reports whether q is a queue of messages rather than a service node
// or a node's reply queue (or an event hub link, whose events are annotated
// when stored and never locked): only its deliveries are locked and annotated.
func (q *queue) entity() bool { return q.node == nil && !q.reply && q.eh == nil }

// lockDuration is how long a delivery from q stays locked.
func (s *Server) lockDuration(q *queue) time.Duration {
	if q.lockDuration > 0 {
		return q.lockDuration
	}
	if s.opts.LockDuration > 0 {
		return s.opts.LockDuration
	}
	return defaultLockDuration
}

// track records an unsettled delivery of m on l with a fresh lock token, and
// locks the message when l receives from a queue.
func (s *session) track(l *link, id uint32, m *message) *outDelivery {
	od := &outDelivery{link: l, msg: m, id: id, lock: lock{token: newToken()}}
	s.unsettled[id] = od
	q := l.q
	q.unacked++
	if q.entity() {
		if q.locks == nil {
			q.locks = map[wire.UUID]*outDelivery{}
		}
		q.locks[od.token] = od
		s.c.s.lockUntil(od, s.c.s.now().Add(s.c.s.lockDuration(q)))
	}
	return od
}

// lockUntil (re)arms od's lock to run out at until.
func (s *Server) lockUntil(od *outDelivery, until time.Time) {
	od.timer.stop()
	od.until = until
	od.timer = s.at(until, func() { s.lockExpired(od) })
}

// lockExpired returns a message whose lock ran out to its queue, counting a
// failed delivery, and remembers the delivery so a late settle learns it. It
// runs on the server's clock, under the server's lock.
func (s *Server) lockExpired(od *outDelivery) {
	if od.ended {
		return // settled meanwhile
	}
	s.endDelivery(od)
	q := od.link.q
	s.log.Debug("amqptest: lock expired", "queue", q.name, "seq", od.msg.seq)
	s.fail(q, od.msg)
	q.dispatch()
}

// takeDelivery removes an unsettled delivery of the session and ends its
// lock; nil when the session has no such delivery.
func (s *session) takeDelivery(id uint32) *outDelivery {
	od := s.unsettled[id]
	if od == nil {
		return nil
	}
	delete(s.unsettled, id)
	od.finish()
	return od
}

// endDelivery ends od other than by its link's settlement (its lock ran out,
// or $management settled it): a late settle on the link, if the link is
// still there, is told the lock was lost.
func (s *Server) endDelivery(od *outDelivery) {
	if od.orphan {
		od.finish()
		return
	}
	sess := od.link.sess
	sess.takeDelivery(od.id)
	if sess.lost == nil {
		sess.lost = map[uint32]*link{}
	}
	sess.lost[od.id] = od.link
}

// finish stops counting od as unsettled and ends its lock, once.
func (od *outDelivery) finish() {
	if od.ended {
		return
	}
	od.ended = true
	q := od.link.q
	q.unacked--
	if od.locked() {
		od.timer.stop()
		od.timer = nil
		delete(q.locks, od.token)
	}
}

// orphanOrTake is what becomes of an unsettled delivery when its link ends:
// a mode-second link's lock keeps the message until the lock runs out or
// $management settles it (true); any other delivery is taken (false), for
// the caller to put back.
func (s *session) orphanOrTake(od *outDelivery) bool {
	delete(s.unsettled, od.id)
	if od.locked() && od.link.rcvSettle == wire.RcvSecond {
		od.orphan = true
		return true
	}
	od.finish()
	return false
}

// forgetLost drops the lost deliveries of a link that is going away.
func (s *session) forgetLost(l *link) {
	for id, ll := range s.lost {
		if ll == l {
			delete(s.lost, id)
		}
	}
}
