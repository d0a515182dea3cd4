package receiver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// loop is the work loop: one goroutine that owns the link, the ledger and the
// buffer. A pump goroutine per link hands deliveries straight to consumers
// through Receiver.out and counts them; settlements and arrivals poke the loop
// through Receiver.wake only when a grant may be due. So on a busy link the loop
// runs about once per grant, not once per delivery. Everything else arrives as a
// command.
type loop struct {
	r      *Receiver
	ledger ledger
	buf    fifo // deliveries the loop holds: taken back, or taken in while the pump was stopped

	link    link.ReceiverLink
	gen     uint64
	settler *linkSettler
	pump    *pumpState

	activeAt  time.Time // when the link was attached or last seen to carry a delivery
	draining  bool
	drained   chan drainResult
	attempt   int
	attaching chan attachResult
	stopWait  context.CancelFunc // stops a pending attach
	explicit  *int64             // credit for the next link, set by ResetCredit
	failed    error              // set when the receiver cannot go on
	closing   bool               // Close has begun

	// What the loop has already counted of Receiver's counters.
	seenSettled, seenTaken, seenArrived, seenArrivedPre uint64

	totals struct{ settled, released, recoveries uint64 }
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
	lp.activeAt = time.Now()
	lp.settler = &linkSettler{r: lp.r, gen: lp.gen, link: l}
	lp.resumePump()
}

func (lp *loop) run() {
	r := lp.r
	defer close(r.done)
	lp.flow()
	for {
		lp.handOut()
		lp.resumePump()
		lp.askToWake()
		var out chan *message.Delivery
		var head *message.Delivery
		if lp.buf.len() > 0 {
			out, head = r.out, lp.buf.front()
		} else if lp.failed != nil {
			lp.finish(lp.failed)
			return
		}
		var pumpDone chan struct{}
		if lp.pump != nil {
			pumpDone = lp.pump.done
		}
		select {
		case <-pumpDone: // the link failed
			p := lp.pump
			lp.pump = nil
			lp.pumpEnded(p)
		case out <- head:
			lp.buf.pop()
		case <-r.wake: // flow counts what changed
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

// askToWake tells settlers after how many more settlements a grant is due, and
// the pump after how many more arrivals the peer's credit is used up (or, past
// that, the peer floods), so they poke the loop then and not every time. It
// checks the counts after publishing the marks, so nothing made meanwhile is
// missed.
func (lp *loop) askToWake() {
	r := lp.r
	settled, arrived := uint64(math.MaxUint64), uint64(math.MaxUint64)
	if lp.link != nil && lp.failed == nil {
		if n := lp.ledger.dueAfter(); n > 0 && !lp.draining {
			settled = lp.seenSettled + lp.seenTaken + n
		}
		arrived = lp.seenArrived + lp.ledger.arrivalsToCheck()
	}
	r.wakeAt.Store(settled)
	r.arriveWakeAt.Store(arrived)
	r.pokeIfDue()
	if r.arrived.Load() >= arrived {
		r.poke()
	}
}

// flow grants the credit the ledger says is due. Before a grant it stops the
// pump and takes every delivery the driver has already buffered, so the ledger's
// count of outstanding credit matches the driver's: a driver that adds the grant
// to its own counter (go-amqp does, unsigned) then arrives at exactly the credit
// the ledger meant, even after the peer sent a surplus.
func (lp *loop) flow() {
	lp.countSettled()
	lp.countArrivals()
	if lp.link == nil || lp.draining || lp.failed != nil {
		return
	}
	if lp.ledger.grant() == 0 {
		return
	}
	if !lp.takeStock() {
		return // the link failed; recovering
	}
	if n := lp.ledger.grant(); n > 0 {
		if err := lp.link.IssueCredit(n); err != nil {
			lp.r.log.Debug("issuing credit failed", "credit", n, "err", err)
		} else {
			lp.ledger.granted(n)
		}
	}
	// The pump resumes in run once the buffer has gone out.
}

// takeStock stops the pump and takes in what the driver has buffered, so the
// ledger has counted every delivery the driver has. It reports false if the link
// failed or was dropped meanwhile.
func (lp *loop) takeStock() bool {
	lp.stopPump()
	return lp.link != nil && lp.takeBuffered()
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
			lp.recover(err)
			return false
		}
		lp.arrived(d)
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

// countArrivals moves the pump's count of arrivals into the ledger.
func (lp *loop) countArrivals() {
	pre, all := lp.r.arrivedPre.Load(), lp.r.arrived.Load()
	n, p := int64(all-lp.seenArrived), int64(pre-lp.seenArrivedPre)
	lp.seenArrived, lp.seenArrivedPre = all, pre
	if n != 0 || p != 0 {
		lp.activeAt = time.Now()
		lp.ledger.arrived(n-p, p)
		lp.checkFlood()
	}
}

// arrived takes in a delivery the loop received itself.
func (lp *loop) arrived(d *message.Delivery) {
	if d.Presettled {
		lp.ledger.arrived(0, 1)
	} else {
		lp.ledger.arrived(1, 0)
	}
	lp.buf.push(intercept(d, lp.settler))
	lp.checkFlood()
}

// checkFlood replaces a link whose peer sent far more than its credit.
func (lp *loop) checkFlood() {
	if lp.ledger.flooded() && lp.link != nil {
		lp.r.log.Error("the peer sent far more than the credit it was granted; attaching a new link",
			"outstanding", lp.ledger.outstanding, "prefetch", lp.ledger.target())
		lp.reattach(errorpolicy.New(errorpolicy.CondProtocol,
			fmt.Sprintf("peer sent %d deliveries beyond its credit", -lp.ledger.outstanding), nil))
	}
}

// resetCredit serves ResetCredit.
func (lp *loop) resetCredit(ctx context.Context, n int64, drain bool, reply chan<- error) {
	if lp.closing { // a handler asking while Close waits for it: no credit for a closing link
		reply <- closedErr()
		return
	}
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
	if d.gen != lp.gen {
		d.reply <- nil // that link is gone; the new one started from the reset credit
		return
	}
	lp.draining = false
	if d.err == nil {
		// The peer has used up or cancelled its credit: what it sent meanwhile
		// has already arrived, ahead of its answer; count it before zeroing.
		if !lp.takeStock() {
			d.reply <- nil // the link failed; recovering
			return
		}
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
