package receiver

import (
	"context"

	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// pumpState is one run of the pump: the goroutine that takes deliveries from
// the link and puts them in Receiver.out for consumers. It counts each one in
// Receiver.arrived before handing it over, so the loop's ledger learns of it
// without touching it; the loop owns the pump and stops it to take stock.
type pumpState struct {
	stop context.CancelFunc
	done chan struct{}
	held *message.Delivery // counted but not handed over when stopped; read after done
	err  error             // the link's failure, if that ended the pump; read after done
}

// startPump starts the pump on the current link. It runs only while the loop's
// own buffer is empty, so deliveries reach consumers in the order they arrived.
func (lp *loop) startPump() {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pumpState{stop: cancel, done: make(chan struct{})}
	lp.pump = p
	go p.run(ctx, lp.r, lp.link, lp.settler)
}

// resumePump restarts the pump once the loop has nothing of its own to hand out.
func (lp *loop) resumePump() {
	if lp.pump == nil && lp.link != nil && lp.buf.len() == 0 && lp.failed == nil {
		lp.startPump()
	}
}

// stopPump stops the pump and takes the delivery it was holding. When the pump
// had already ended with the link's failure, the loop recovers.
func (lp *loop) stopPump() {
	p := lp.pump
	if p == nil {
		return
	}
	lp.pump = nil
	p.stop()
	<-p.done
	lp.pumpEnded(p)
}

// pumpEnded takes stock after the pump has ended, by stopPump or by itself.
func (lp *loop) pumpEnded(p *pumpState) {
	if p.held != nil { // first: a flood found by the count releases the buffer
		lp.buf.push(p.held)
	}
	lp.countArrivals()
	if p.err != nil && lp.link != nil { // else the link is already being dropped
		lp.recover(p.err)
	}
}

func (p *pumpState) run(ctx context.Context, r *Receiver, l link.ReceiverLink, s *linkSettler) {
	defer close(p.done)
	for {
		d, err := l.Receive(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.err = err
			}
			return
		}
		d = intercept(d, s)
		r.arrive(d.Presettled)
		// Most often there is room: no need to watch ctx. (So a stopped pump
		// may go on handing over what the driver has buffered until there is
		// no more or out is full; the loop counts and takes back all of it.)
		select {
		case r.out <- d:
			continue
		default:
		}
		select {
		case r.out <- d:
		case <-ctx.Done():
			p.held = d
			return
		}
	}
}
