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
	// buffered is the number of deliveries received and not yet handed out.
	buffered int64
	// handedOut and settled count deliveries given to the application that needed
	// settling, and those of them settled (or forgotten with a lost link).
	handedOut, settled uint64

	// Totals for Stats.
	received, surplus uint64
}

// held is every delivery the client holds: buffered, being handled, or handed out
// and unsettled.
func (l *ledger) held() int64 {
	return l.buffered + int64(l.handedOut-l.settled)
}

func (l *ledger) target() int64 { return max(l.prefetch, l.demand) }

// grant returns the credit to issue now so that held plus outstanding reaches the
// target, or 0 when no grant is due. Grants go out in batches of a quarter of the
// target at least, which keeps flow frames few and tops up long before the
// credit runs out, except when the peer has no credit left: then any room is
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
	if batch := max(1, l.target()/4); n < batch && l.outstanding > 0 {
		return 0
	}
	return uint32(min(n, 1<<31))
}

// granted records n credits issued.
func (l *ledger) granted(n uint32) { l.outstanding += int64(n) }

// arrived records a delivery received from the link; it is buffered.
func (l *ledger) arrived() {
	l.received++
	if l.outstanding <= 0 {
		l.surplus++
	}
	l.outstanding--
	l.buffered++
}

// handOut records a buffered delivery given to the application; presettled ones
// need no settling.
func (l *ledger) handOut(presettled bool) {
	l.buffered--
	l.handedOut++
	if presettled {
		l.settled++
	}
}

// dropped records a buffered delivery released or discarded instead of handed out.
func (l *ledger) dropped() { l.buffered-- }

// flooded reports a peer that sent more than two windows beyond its credit. An
// honest surplus is smaller: RabbitMQ 3.10's is bounded by what it had in flight
// inside the broker when a grant arrived, at most the credit it held then
// (measured: up to about one window). A larger one means the peer's credit was
// corrupted, and only a new link resets it.
func (l *ledger) flooded() bool { return -l.outstanding > 2*l.target()+64 }

// reset starts the count for a new link: the peer has no credit, the buffer is
// what survived, and deliveries handed out on the old link will never settle.
func (l *ledger) reset(buffered int64) {
	l.outstanding = 0
	l.buffered = buffered
	l.settled = l.handedOut
}
