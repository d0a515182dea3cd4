package sender

import (
	"context"
	"time"

	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// Receipt is the future outcome of one message handed to the link by SendAsync.
// Its methods are safe for concurrent use.
type Receipt struct {
	msg   *message.Message // nil for a batch
	batch [][]byte         // a batch's encoded messages, sent as one transfer
	wire  link.Receipt
	gen   uint64    // the link it was sent on
	sent  time.Time // when it was handed to the link; set when Options.Timeout is

	done    chan struct{}
	outcome message.Outcome
	err     error
}

// closedChan is the Done channel of receipts complete from the start.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Message is the message the receipt is for; nil for a batch sent as one
// transfer.
func (r *Receipt) Message() *message.Message { return r.msg }

// Done is closed once the outcome is known, or known to be unknowable.
func (r *Receipt) Done() <-chan struct{} { return r.done }

// Wait waits for the outcome within ctx. It returns Accepted with a nil error;
// Rejected, Released or Modified with an *OutcomeError; or a nil outcome with
// the reason none is known: errorpolicy.ErrOutcomeUnknown (the link ended, or
// Close gave up waiting), errorpolicy.ErrTimeout (Options.Timeout passed), or
// ctx's error (the message may still be settled later).
func (r *Receipt) Wait(ctx context.Context) (message.Outcome, error) {
	select {
	case <-r.done:
		return r.outcome, r.err
	default:
	}
	select {
	case <-r.done:
		return r.outcome, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Outcome returns what Wait returns once Done is closed; before that it returns
// a nil outcome and ErrInFlight.
func (r *Receipt) Outcome() (message.Outcome, error) {
	select {
	case <-r.done:
		return r.outcome, r.err
	default:
		return nil, ErrInFlight
	}
}

// finish records the outcome (or why there is none) and wakes the waiters.
func (r *Receipt) finish(o message.Outcome, err error) {
	if err == nil {
		err = outcomeErr(o)
	}
	r.outcome, r.err = o, err
	close(r.done)
}
