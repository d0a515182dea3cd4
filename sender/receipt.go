package sender

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// Receipt is the future outcome of one message handed to the link by SendAsync.
// Its methods are safe for concurrent use.
type Receipt struct {
	msg *message.Message // nil for a batch

	// Once the receipt is queued, the completer alone uses these; batch and
	// wire are let go of when the outcome is final.
	batch [][]byte // a batch's encoded messages, sent as one transfer
	wire  link.Receipt
	gen   uint64    // the link it was sent on
	sent  time.Time // when it was handed to the link; set when Options.Timeout is

	// complete is set, under mu, once outcome and err are final. done is made
	// only for a Done or Wait that comes first (most receipts complete before
	// anyone looks), and closed on completion.
	mu       sync.Mutex
	complete atomic.Bool
	done     chan struct{}
	outcome  message.Outcome
	err      error
}

// closedChan is the Done channel of receipts complete from the start.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Message is the message the receipt is for; nil for a batch sent as one
// transfer.
func (r *Receipt) Message() *message.Message { return r.msg }

// Done is closed once the outcome is known, or known to be unknowable.
func (r *Receipt) Done() <-chan struct{} {
	if r.complete.Load() {
		return closedChan
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.complete.Load() {
		return closedChan
	}
	if r.done == nil {
		r.done = make(chan struct{})
	}
	return r.done
}

// Wait waits for the outcome within ctx. It returns Accepted with a nil error;
// Rejected, Released or Modified with an *OutcomeError; or a nil outcome with
// the reason none is known: errorpolicy.ErrOutcomeUnknown (the link ended, or
// Close gave up waiting), errorpolicy.ErrTimeout (Options.Timeout passed), or
// ctx's error (the message may still be settled later).
func (r *Receipt) Wait(ctx context.Context) (message.Outcome, error) {
	if r.complete.Load() {
		return r.outcome, r.err
	}
	select {
	case <-r.Done():
		return r.outcome, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Outcome returns what Wait returns once Done is closed; before that it returns
// a nil outcome and ErrInFlight.
func (r *Receipt) Outcome() (message.Outcome, error) {
	if r.complete.Load() {
		return r.outcome, r.err
	}
	return nil, ErrInFlight
}

// finish records the outcome (or why there is none) and wakes the waiters.
func (r *Receipt) finish(o message.Outcome, err error) {
	if err == nil {
		err = outcomeErr(o)
	}
	r.outcome, r.err = o, err
	r.mu.Lock()
	r.complete.Store(true)
	if r.done != nil {
		close(r.done)
	}
	r.mu.Unlock()
}

// completed returns a receipt complete from the start with o.
func completed(m *message.Message, o message.Outcome) *Receipt {
	r := &Receipt{msg: m, outcome: o}
	r.complete.Store(true)
	return r
}
