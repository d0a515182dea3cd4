package receiver

import (
	"context"
	"errors"
	"fmt"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// loop is the work loop: one goroutine that owns the link, the ledger and the
// buffer. Deliveries reach it from a pump goroutine per link; consumers take them
// from Receiver.out; settlements poke it through Receiver.wake; everything else
// arrives as a command.
type loop struct {
	r      *Receiver
	ledger ledger
	buf    fifo

	link     link.ReceiverLink
	gen      uint64
	settler  *linkSettler
	arrivals chan arrival
	pump     *pumpState

	draining  bool
	drained   chan drainResult
	attempt   int
	attaching chan attachResult
	stopWait  context.CancelFunc // stops a pending attach
	seen      uint64             // appSettled already counted
	explicit  *int64             // credit for the next link, set by ResetCredit
	failed    error              // set when the receiver cannot go on

	totals struct{ settled, released, recoveries uint64 }
}

type arrival struct {
	d   *message.Delivery
	err error
}

type drainResult struct {
	err    error
	gen    uint64
	credit int64
	reply  chan<- error
	ctx    context.Context
}

type attachResult struct {
	l   link.ReceiverLink
	err error
}

func newLoop(r *Receiver, l link.ReceiverLink) *loop {
	lp := &loop{r: r, drained: make(chan drainResult, 1), attaching: make(chan attachResult, 1)}
	lp.ledger.prefetch = int64(r.opts.Prefetch)
	lp.use(l)
	return lp
}

// use makes l the current link and starts its pump.
func (lp *loop) use(l link.ReceiverLink) {
	lp.link = l
	lp.settler = &linkSettler{r: lp.r, gen: lp.gen}
	lp.arrivals = make(chan arrival)
	lp.startPump()
}

// startPump starts a goroutine that moves deliveries from the link to the loop.
func (lp *loop) startPump() {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pumpState{stop: cancel, done: make(chan struct{})}
	lp.pump = p
	go p.run(ctx, lp.link, lp.arrivals)
}

// stopPump stops the pump and takes the delivery it was holding, if any.
func (lp *loop) stopPump() {
	p := lp.pump
	if p == nil {
		return
	}
	lp.pump = nil
	p.stop()
	<-p.done
	if p.held != nil {
		lp.arrived(*p.held)
	}
}

// pumpState is one run of the pump; the loop owns it.
type pumpState struct {
	stop context.CancelFunc
	done chan struct{}
	held *arrival // what it received but could not hand over; read after done
}

func (p *pumpState) run(ctx context.Context, l link.ReceiverLink, to chan<- arrival) {
	defer close(p.done)
	for {
		d, err := l.Receive(ctx)
		if err != nil && ctx.Err() != nil {
			return
		}
		select {
		case to <- arrival{d, err}:
		case <-ctx.Done():
			p.held = &arrival{d, err}
			return
		}
		if err != nil {
			return
		}
	}
}

func (lp *loop) run() {
	r := lp.r
	defer close(r.done)
	lp.flow()
	for {
		var out chan *message.Delivery
		var head *message.Delivery
		if lp.buf.len() > 0 {
			out, head = r.out, lp.buf.front()
		} else if lp.failed != nil {
			lp.finish(lp.failed)
			return
		}
		select {
		case a := <-lp.arrivals:
			lp.arrived(a)
		case out <- head:
			lp.buf.pop()
			lp.ledger.handOut(head.Presettled)
			if head.Presettled {
				lp.totals.settled++
			}
		case <-r.wake:
			lp.countSettled()
		case c := <-r.cmds:
			c.do(lp)
			close(c.reply)
		case d := <-lp.drained:
			lp.drainDone(d)
		case a := <-lp.attaching:
			lp.attached(a)
		case ctx := <-r.closeReq:
			lp.close(ctx)
			return
		}
		lp.flow()
	}
}

// flow grants the credit the ledger says is due. Before a grant it stops the
// pump and takes every delivery the driver has already buffered, so the ledger's
// count of outstanding credit matches the driver's: a driver that adds the grant
// to its own counter (go-amqp does, unsigned) then arrives at exactly the credit
// the ledger meant, even after the peer sent a surplus.
func (lp *loop) flow() {
	if lp.link == nil || lp.draining || lp.failed != nil {
		return
	}
	lp.countSettled()
	if lp.ledger.grant() == 0 {
		return
	}
	lp.stopPump()
	if !lp.takeBuffered() {
		return // the link failed; recovering
	}
	if n := lp.ledger.grant(); n > 0 {
		if err := lp.link.IssueCredit(n); err != nil {
			lp.r.log.Debug("issuing credit failed", "credit", n, "err", err)
		} else {
			lp.ledger.granted(n)
		}
	}
	lp.startPump()
}

// takeBuffered moves what the driver has buffered into the loop without
// waiting. It reports false if the link failed meanwhile.
func (lp *loop) takeBuffered() bool {
	for {
		d, err := lp.link.Receive(doneContext)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return true
			}
			lp.arrived(arrival{err: err})
			return false
		}
		lp.arrived(arrival{d: d})
		if lp.link == nil {
			return false // flooded: re-attaching
		}
	}
}

// doneContext is an ended context: Receive with it returns a buffered delivery or
// nothing, without waiting.
var doneContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// countSettled moves settlements made by the application into the ledger.
func (lp *loop) countSettled() {
	lp.r.settleMu.Lock()
	lp.countSettledLocked()
	lp.r.settleMu.Unlock()
}

// countSettledLocked is countSettled with settleMu held, so the caller can also
// change the generation before another settlement is counted.
func (lp *loop) countSettledLocked() {
	n := lp.r.appSettled - lp.seen
	lp.seen = lp.r.appSettled
	lp.ledger.settled += n
	lp.totals.settled += n
}

func (lp *loop) arrived(a arrival) {
	if a.err != nil {
		if lp.link != nil { // else the link is already being dropped
			lp.recover(a.err)
		}
		return
	}
	lp.ledger.arrived()
	lp.buf.push(wrap(a.d, lp.settler))
	if lp.ledger.flooded() && lp.link != nil {
		lp.r.log.Error("the peer sent far more than the credit it was granted; attaching a new link",
			"outstanding", lp.ledger.outstanding, "prefetch", lp.ledger.target())
		lp.reattach(errorpolicy.New(errorpolicy.CondProtocol,
			fmt.Sprintf("peer sent %d deliveries beyond its credit", -lp.ledger.outstanding), nil))
	}
}

// resetCredit serves ResetCredit.
func (lp *loop) resetCredit(ctx context.Context, n int64, drain bool, reply chan<- error) {
	if lp.draining {
		reply <- errorpolicy.InvalidOption("receiver: a drain is already in progress")
		return
	}
	if lp.link == nil { // recovering: the new link starts from n
		lp.ledger.paused = n == 0
		lp.explicit = &n
		reply <- nil
		return
	}
	lp.ledger.paused = n == 0
	d, canDrain := lp.link.(link.Drainer)
	if drain && canDrain && lp.ledger.outstanding > n {
		lp.draining = true
		gen := lp.gen
		go func() { // ends with Drain: the peer answers, ctx ends, or the link goes
			err := d.Drain(ctx)
			select {
			case lp.drained <- drainResult{err: err, gen: gen, credit: n, reply: reply, ctx: ctx}:
			case <-lp.r.done:
			}
		}()
		return
	}
	lp.setOutstanding(n)
	reply <- nil
}

// setOutstanding grants what brings the peer's credit up to n; credit above n
// cannot be taken back without drain and is left to run out.
func (lp *loop) setOutstanding(n int64) {
	if g := n - lp.ledger.outstanding; g > 0 && lp.link != nil {
		if err := lp.link.IssueCredit(uint32(g)); err == nil {
			lp.ledger.granted(uint32(g))
		}
	}
}

func (lp *loop) drainDone(d drainResult) {
	lp.draining = false
	if d.gen != lp.gen {
		d.reply <- nil // that link is gone; the new one started from the reset credit
		return
	}
	if d.err == nil {
		// The peer has used up or cancelled its credit: what it sent meanwhile
		// has already arrived, ahead of its answer.
		lp.ledger.outstanding = 0
		lp.setOutstanding(d.credit)
		d.reply <- nil
		return
	}
	if d.ctx.Err() != nil {
		lp.r.log.Warn("the peer did not answer the drain; attaching a new link", "err", d.err)
		lp.explicit = &d.credit
		lp.reattach(d.err)
		d.reply <- d.ctx.Err()
		return
	}
	d.reply <- nil // the link failed; the pump reports it and the loop recovers
}
