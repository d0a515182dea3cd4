package receiver

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// loop is the work loop: one goroutine that owns the link, the ledger and the
// buffer. Deliveries reach it in batches from a pump goroutine per link; it moves
// them into Receiver.out, where consumers take them; settlements poke it through
// Receiver.wake only when a grant may be due; everything else arrives as a command.
// So on a busy link the loop runs once per batch, not once per delivery.
type loop struct {
	r      *Receiver
	ledger ledger
	buf    fifo

	link     link.ReceiverLink
	gen      uint64
	settler  *linkSettler
	arrivals chan []arrival
	pump     *pumpState

	draining               bool
	drained                chan drainResult
	attempt                int
	attaching              chan attachResult
	stopWait               context.CancelFunc // stops a pending attach
	seenSettled, seenTaken uint64             // Receiver.appSettled and presTaken already counted
	explicit               *int64             // credit for the next link, set by ResetCredit
	failed                 error              // set when the receiver cannot go on

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
	lp.arrivals = make(chan []arrival)
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
	lp.arrivedAll(p.held)
}

// pumpState is one run of the pump; the loop owns it.
type pumpState struct {
	stop context.CancelFunc
	done chan struct{}
	held []arrival // what it received but could not hand over; read after done
}

// pumpBatch bounds how many deliveries the pump hands over at once.
const pumpBatch = 64

// run waits for a delivery, adds whatever else the driver has buffered, and
// hands the batch to the loop. It fills two arrays in turn: the loop has finished
// with one batch before it takes the next, so the array the pump refills is free.
func (p *pumpState) run(ctx context.Context, l link.ReceiverLink, to chan<- []arrival) {
	defer close(p.done)
	var bufs [2][]arrival
	for i := 0; ; i ^= 1 {
		batch := bufs[i][:0]
		d, err := l.Receive(ctx)
		if err != nil && ctx.Err() != nil {
			return
		}
		batch = append(batch, arrival{d, err})
		for err == nil && len(batch) < pumpBatch {
			more, moreErr := l.Receive(doneContext)
			if errors.Is(moreErr, context.Canceled) {
				break // nothing more buffered
			}
			d, err = more, moreErr
			batch = append(batch, arrival{d, err})
		}
		bufs[i] = batch
		select {
		case to <- batch:
		case <-ctx.Done():
			p.held = batch
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
		lp.handOut()
		lp.askToWake()
		var out chan *message.Delivery
		var head *message.Delivery
		if lp.buf.len() > 0 {
			out, head = r.out, lp.buf.front()
		} else if lp.failed != nil {
			lp.finish(lp.failed)
			return
		}
		select {
		case batch := <-lp.arrivals:
			lp.arrivedAll(batch)
		case out <- head:
			lp.buf.pop()
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

// handOut moves buffered deliveries into Receiver.out while it has room.
func (lp *loop) handOut() {
	for lp.buf.len() > 0 {
		select {
		case lp.r.out <- lp.buf.front():
			lp.buf.pop()
		default:
			return
		}
	}
}

// takeBack moves what consumers have not yet taken from Receiver.out back to the
// front of the buffer, to be released or kept.
func (lp *loop) takeBack() {
	var back []*message.Delivery
	for {
		select {
		case d := <-lp.r.out:
			back = append(back, d)
		default:
			lp.buf.unshift(back)
			return
		}
	}
}

// askToWake tells settlers after how many more settlements a grant is due, so
// they poke the loop then and not on every settlement. It checks the count
// after publishing the mark, so a settlement made meanwhile is not missed.
func (lp *loop) askToWake() {
	r := lp.r
	mark := uint64(math.MaxUint64)
	if n := lp.ledger.dueAfter(); n > 0 && lp.link != nil && !lp.draining && lp.failed == nil {
		mark = lp.seenSettled + lp.seenTaken + n
	}
	r.wakeAt.Store(mark)
	r.pokeIfDue()
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

// countSettled moves settlements made by the application, and presettled
// deliveries taken, into the ledger. A caller about to change the generation
// holds settleMu, so no settlement of the old one is counted after it.
func (lp *loop) countSettled() {
	settled, taken := lp.r.appSettled.Load(), lp.r.presTaken.Load()
	lp.ledger.released(settled-lp.seenSettled, taken-lp.seenTaken)
	lp.totals.settled += settled - lp.seenSettled + taken - lp.seenTaken
	lp.seenSettled, lp.seenTaken = settled, taken
}

// arrivedAll takes in a batch from the pump. When one of them makes the loop
// drop the link (an error, a flood), the rest belong to a link that is gone.
func (lp *loop) arrivedAll(batch []arrival) {
	gen := lp.gen
	for i, a := range batch {
		if lp.gen != gen {
			lp.orphaned(batch[i:])
			return
		}
		lp.arrived(a)
	}
}

// orphaned disposes of deliveries that arrived on a link already dropped:
// presettled ones are kept for the application, the others released.
func (lp *loop) orphaned(batch []arrival) {
	ctx, cancel := context.WithTimeout(context.Background(), lastWait)
	defer cancel()
	for _, a := range batch {
		switch {
		case a.err != nil:
		case a.d.Presettled:
			lp.ledger.received++
			lp.ledger.count(true, 1)
			lp.buf.push(wrap(a.d, lp.settler))
		default:
			lp.release(ctx, a.d)
		}
	}
}

func (lp *loop) arrived(a arrival) {
	if a.err != nil {
		if lp.link != nil { // else the link is already being dropped
			lp.recover(a.err)
		}
		return
	}
	lp.ledger.arrived(a.d.Presettled)
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
