package receiver

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/session"
)

// Receiver receives messages from one source over a link it owns, with its own
// credit ledger (see the package documentation). It is safe for concurrent use.
type Receiver struct {
	opts  Options
	lopts link.ReceiverOptions
	sess  *session.Session
	log   *slog.Logger

	// The work loop's channels.
	out      chan *message.Delivery // hand-out to consumers; capacity handOutQueue
	cmds     chan command
	wake     chan struct{} // settlements poke the loop; capacity 1
	closeReq chan context.Context
	closing  chan struct{} // closed when Close is called
	done     chan struct{} // closed when the loop has exited
	err      error         // why the loop exited; written before done is closed

	state atomic.Int32

	// The counters below are read or written on every delivery, each written
	// by one side: the pump, the consumers and settlers, or the loop. Each
	// side's counters have a cache line of their own, so that the pump and a
	// consumer on different cores do not take turns owning one line.

	// Written by the loop, read on every delivery. gen is the current link's
	// generation: read freely, changed under settleMu (when a link is dropped or
	// closed) so that a settlement is counted for the generation it was made on.
	gen          atomic.Uint64
	wakeAt       atomic.Uint64 // appSettled+presTaken at which the loop wants a poke
	arriveWakeAt atomic.Uint64 // arrived at which the loop wants a poke
	_            cacheLinePad

	// The pump's count of deliveries it received, and of those presettled.
	arrived, arrivedPre atomic.Uint64
	_                   cacheLinePad

	// Written by consumers and settlers.
	settleMu   sync.Mutex
	appSettled atomic.Uint64 // settlements on the current generation; added to under settleMu
	presTaken  atomic.Uint64 // presettled deliveries taken by consumers
	handling   atomic.Int64  // Run's handlers running now (Stats)
	_          cacheLinePad

	runMu     sync.Mutex
	runClosed bool
	runs      sync.WaitGroup

	closeOnce sync.Once
	lastStats atomic.Pointer[Stats] // written when the loop exits
}

// New attaches a receiver link to source on sess and starts the receiver's work
// loop. It returns the attach error, such as one matching errorpolicy.ErrNotFound,
// when the first link cannot be attached.
func New(ctx context.Context, sess *session.Session, source string, o *Options) (*Receiver, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	opts := o.withDefaults()
	lopts := opts.linkOptions(source)
	if err := lopts.Validate(); err != nil {
		return nil, err
	}
	r := &Receiver{
		opts:     opts,
		lopts:    lopts,
		sess:     sess,
		log:      opts.Logger.With("link", lopts.Name, "source", source),
		out:      make(chan *message.Delivery, handOutQueue),
		cmds:     make(chan command),
		wake:     make(chan struct{}, 1),
		closeReq: make(chan context.Context, 1),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	l, err := sess.NewReceiverLink(ctx, lopts)
	if err != nil {
		return nil, err
	}
	lp := newLoop(r, l)
	r.setState(Open)
	go lp.run()
	return r, nil
}

// cacheLinePad keeps the fields before and after it on different cache lines
// (64 bytes on the CPUs Go runs on most; 128 on some, where it halves the
// sharing instead of ending it).
type cacheLinePad [64]byte

// handOutQueue is how many deliveries wait in Receiver.out for a consumer; the
// rest of the buffer stays with the loop.
const handOutQueue = 64

// took records a delivery taken by a consumer: a presettled one leaves the
// client's hands now.
func (r *Receiver) took(d *message.Delivery) {
	if d.Presettled {
		r.presTaken.Add(1)
		r.pokeIfDue()
	}
}

// arrive counts a delivery the pump received.
func (r *Receiver) arrive(presettled bool) {
	if presettled {
		r.arrivedPre.Add(1)
	}
	if r.arrived.Add(1) >= r.arriveWakeAt.Load() {
		r.poke()
	}
}

// pokeIfDue wakes the loop once enough deliveries have left the client's hands
// for a grant to be due.
func (r *Receiver) pokeIfDue() {
	if r.appSettled.Load()+r.presTaken.Load() >= r.wakeAt.Load() {
		r.poke()
	}
}

func (r *Receiver) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Name is the link name, kept across re-attaches.
func (r *Receiver) Name() string { return r.lopts.Name }

// Address is the source address.
func (r *Receiver) Address() string { return r.lopts.Source }

// State is the receiver's current state.
func (r *Receiver) State() State { return State(r.state.Load()) }

// Done is closed when the receiver has finished, by Close or by a failure.
func (r *Receiver) Done() <-chan struct{} { return r.done }

// Err is nil while the receiver runs and after Close; otherwise the error it could
// not recover from.
func (r *Receiver) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

func (r *Receiver) setState(s State) {
	from := State(r.state.Swap(int32(s)))
	if from == s {
		return
	}
	r.log.Debug("receiver state", "from", from, "to", s)
	if r.opts.OnStateChange != nil {
		r.opts.OnStateChange(from, s)
	}
}

// Close stops issuing credit, releases every buffered delivery (PeekLock), waits
// for running Run handlers, and detaches the link, all within ctx. Deliveries
// handed out and not yet settled can be settled until the link is detached; after
// that their settlement fails with errorpolicy.ErrLinkLost and the broker offers
// them again. In ReceiveAndDelete mode buffered deliveries are already gone from
// the broker; Close logs how many were dropped. A second Close waits for the
// first.
//
// A Run handler may close its receiver: given the handler's ctx, or one made
// from it, Close waits for the other handlers and not for that one. Settle its
// delivery first; one left unsettled goes back to the broker with the link.
func (r *Receiver) Close(ctx context.Context) error {
	if w, ok := ctx.Value(workerKey{}).(*worker); ok && w.r == r {
		w.leave() // called from a Run handler: Close does not wait for that one
	}
	r.closeOnce.Do(func() {
		r.runMu.Lock()
		r.runClosed = true
		r.runMu.Unlock()
		r.closeReq <- ctx
		close(r.closing)
	})
	select {
	case <-r.done:
		if isClosed(r.err) {
			return nil
		}
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func closedErr() error {
	return errorpolicy.New(errorpolicy.CondClosed, "receiver is closed", nil)
}

// command is a request served by the work loop.
type command struct {
	do    func(*loop)
	reply chan struct{}
}

// call runs f on the work loop and waits for it within ctx.
func (r *Receiver) call(ctx context.Context, f func(*loop)) error {
	c := command{do: f, reply: make(chan struct{})}
	select {
	case r.cmds <- c:
	case <-r.done:
		if r.err != nil {
			return r.err
		}
		return closedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns a snapshot of the ledger. After the receiver has finished it
// returns the last snapshot.
func (r *Receiver) Stats() Stats {
	var s Stats
	if err := r.call(context.Background(), func(lp *loop) { s = lp.stats() }); err != nil {
		s = *r.lastStats.Load()
	}
	return s
}

// SetPrefetch changes the target of held deliveries plus outstanding credit.
// Lowering it grants nothing until the client holds fewer; credit already granted
// is not taken back.
func (r *Receiver) SetPrefetch(n int) error {
	if n <= 0 {
		return errorpolicy.InvalidOption("receiver: prefetch must be positive")
	}
	return r.call(context.Background(), func(lp *loop) {
		lp.ledger.prefetch = int64(n)
		lp.flow()
	})
}

// ResetCredit makes the credit the peer holds exactly n, and pauses the receiver
// when n is 0: no credit is granted until ResetCredit is called with n > 0. With
// n > 0 automatic grants resume once the client holds fewer than the prefetch; the
// credit granted now may take the client above the prefetch, as asked.
//
// Credit already granted can only be taken back with drain: the peer is asked to
// use up or cancel its credit, and ResetCredit waits for its answer within ctx
// (deliveries sent meanwhile are buffered). Without drain, or when the link
// cannot drain, the peer keeps credit above n until it uses it; nothing more is
// granted until then. When the peer does not answer the drain before ctx ends,
// its credit is unknowable: the receiver releases what it buffered and attaches a
// new link with credit n, and ResetCredit returns ctx's error.
//
// RabbitMQ 3.10 answers a drain and then ends the session with
// amqp:internal-error; the receiver attaches a new link on a new session, and the
// deliveries of the old link come again.
func (r *Receiver) ResetCredit(ctx context.Context, n int, drain bool) error {
	if n < 0 {
		return errorpolicy.InvalidOption("receiver: credit must not be negative")
	}
	result := make(chan error, 1)
	if err := r.call(ctx, func(lp *loop) { lp.resetCredit(ctx, int64(n), drain, result) }); err != nil {
		return err
	}
	select {
	case err := <-result:
		return err
	case <-r.done:
		return r.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lastWait bounds the link operations the receiver does on its own behalf (a
// release or a detach while recovering), where no caller's context applies.
const lastWait = 5 * time.Second

func isClosed(err error) bool {
	var e *errorpolicy.Error
	return errors.As(err, &e) && e.Condition == errorpolicy.CondClosed
}
