package receiver

// ledger is the receiver's own count of credit and deliveries. The work loop owns
// it; nothing else reads or writes it. The drivers' own credit counters cannot be
// trusted with a peer that breaks the rules: RabbitMQ 3.10 sends transfers beyond
// the credit it was granted, and a counter that wraps below zero (go-amqp's is
// unsigned) then grants the peer billions of credits. The ledger counts in signed
// 64-bit integers, so a surplus is a negative outstanding credit, and every grant
// is computed from the ledger's own counts.
type ledger struct {
	// prefetch is the target for held deliveries plus outstanding credit.
	prefetch int64
	// demand raises the target while a ReceiveBatch asks for more than prefetch.
	demand int64
	// paused stops all grants (ResetCredit to 0, closing, recovering).
	paused bool

	// outstanding is the credit the peer still has by our count: granted minus
	// received on the current link. Negative when the peer sent a surplus.
	outstanding int64
	// unsettled counts the deliveries in hand that need settling: buffered, or
	// handed out and not yet settled. They belong to the current link.
	unsettled int64
	// presettled counts the presettled deliveries not yet handed out. They need
	// no link, so they stay counted across links until a consumer takes them.
	presettled int64

	// Totals for Stats.
	received, surplus uint64
}

// held is every delivery the client holds: buffered, being handled, or handed out
// and unsettled.
func (l *ledger) held() int64 { return l.unsettled + l.presettled }

func (l *ledger) target() int64 { return max(l.prefetch, l.demand) }

// grant returns the credit to issue now so that held plus outstanding reaches the
// target, or 0 when no grant is due. Grants go out in batches of half the target
// at least, which keeps flow frames few (as few as go-amqp's manual-credit users
// send) and tops up before the credit runs out, except when the peer has no
// credit left: then any room is
// granted at once, so a slow consumer is never starved and a surplus is answered
// promptly (measured on RabbitMQ 3.10: waiting for a full batch then makes its
// surplus grow, as the broker wraps a negative credit into a large one).
//
// The grant is computed so that the peer's resulting credit equals target minus
// held, a number the ledger makes sure is positive; a driver that adds the grant
// to its own (possibly wrapped) counter arrives at the same number.
func (l *ledger) grant() uint32 {
	if l.paused {
		return 0
	}
	room := l.target() - l.held() // the credit the peer should have
	if room <= 0 {
		return 0
	}
	n := room - l.outstanding
	if n <= 0 {
		return 0
	}
	if n < l.batch() && l.outstanding > 0 {
		return 0
	}
	return uint32(min(n, 1<<31))
}

// batch is the smallest grant while the peer still has credit.
func (l *ledger) batch() int64 { return max(1, l.target()/2) }

// granted records n credits issued.
func (l *ledger) granted(n uint32) { l.outstanding += int64(n) }

// arrived records deliveries received from the link, of each kind.
func (l *ledger) arrived(unsettled, presettled int64) {
	n := unsettled + presettled
	l.received += uint64(n)
	l.surplus += uint64(n - min(n, max(0, l.outstanding)))
	l.outstanding -= n
	l.unsettled += unsettled
	l.presettled += presettled
}

// arrivalsToCheck is after how many more arrivals the loop should look again:
// when the peer's credit is used up, or, with a surplus already, when it would
// be flooding.
func (l *ledger) arrivalsToCheck() uint64 {
	if l.outstanding > 0 {
		return uint64(l.outstanding)
	}
	return uint64(l.floodLimit() + l.outstanding + 1)
}

// count adds n to the deliveries in hand of one kind.
func (l *ledger) count(presettled bool, n int64) {
	if presettled {
		l.presettled += n
	} else {
		l.unsettled += n
	}
}

// dropped records a buffered delivery released or discarded instead of handed out.
func (l *ledger) dropped(presettled bool) { l.count(presettled, -1) }

// released records n deliveries no longer held: settled by the application, or
// (presettled ones) taken by a consumer.
func (l *ledger) released(settled, taken uint64) {
	l.unsettled -= int64(settled)
	l.presettled -= int64(taken)
}

// dueAfter is how many more deliveries must leave the client's hands before a
// grant is due; the loop asks to be woken then rather than on every settlement.
// It is 0 when no settlement can make a grant due (paused).
func (l *ledger) dueAfter() uint64 {
	if l.paused {
		return 0
	}
	// grant() is due once held falls to limit or below.
	limit := l.target() - 1 // room ≥ 1, when the peer has no credit left
	if l.outstanding > 0 {
		limit = l.target() - l.outstanding - l.batch()
	}
	return uint64(max(1, l.held()-limit))
}

// flooded reports a peer that sent more than two windows beyond its credit. An
// honest surplus is smaller: RabbitMQ 3.10's is bounded by what it had in flight
// inside the broker when a grant arrived, at most the credit it held then
// (measured: up to about one window). A larger one means the peer's credit was
// corrupted, and only a new link resets it.
func (l *ledger) flooded() bool { return -l.outstanding > l.floodLimit() }

func (l *ledger) floodLimit() int64 { return 2*l.target() + 64 }

// reset starts the count for a new link: the peer has no credit, and deliveries
// of the old link that needed settling are gone: the buffered ones were released,
// and those handed out will never settle.
func (l *ledger) reset() {
	l.outstanding = 0
	l.unsettled = 0
}
