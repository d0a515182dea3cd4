package receiver

import "fmt"

// State is where a Receiver is in its life.
type State int32

const (
	// Opening: the first link is attaching.
	Opening State = iota
	// Open: the link is attached and messages flow as credit allows.
	Open
	// Recovering: the link failed and a new one is being attached. Deliveries
	// from the failed link can no longer be settled; the broker offers their
	// messages again.
	Recovering
	// Closing: Close was called; buffered deliveries are being released.
	Closing
	// Closed: the receiver is finished, by Close or by a failure it could not
	// recover from (see Err).
	Closed
)

func (s State) String() string {
	switch s {
	case Opening:
		return "opening"
	case Open:
		return "open"
	case Recovering:
		return "recovering"
	case Closing:
		return "closing"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Stats is a snapshot of a Receiver's ledger.
type Stats struct {
	State State
	// Prefetch is the current target (see Options.Prefetch and SetPrefetch).
	Prefetch int
	// Paused is true after ResetCredit(0) until credit is reset above zero.
	Paused bool
	// Outstanding is the credit the peer still has by the receiver's count;
	// negative when the peer sent more than it was granted.
	Outstanding int64
	// Buffered is the number of deliveries received and not yet handed out.
	Buffered int
	// Unsettled is the number of deliveries handed out and not yet settled
	// (including those being handled by Run).
	Unsettled int
	// Handling is the number of Run handlers running now.
	Handling int
	// Received counts deliveries received, on every link the receiver attached.
	Received uint64
	// Surplus counts deliveries the peer sent beyond the credit it had.
	Surplus uint64
	// Settled counts deliveries settled through the receiver (presettled ones
	// included).
	Settled uint64
	// Released counts buffered deliveries the receiver released itself (on
	// Close, or beyond a reset credit the peer did not drain).
	Released uint64
	// Recoveries counts links re-attached after a failure.
	Recoveries uint64
}

// Held is every delivery the client holds: buffered plus unsettled.
func (s Stats) Held() int { return s.Buffered + s.Unsettled }
