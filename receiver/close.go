package receiver

import (
	"context"
)

// close serves Close: no more credit, buffered deliveries released, handlers
// waited for, link detached, all within ctx.
func (lp *loop) close(ctx context.Context) {
	r := lp.r
	r.setState(Closing)
	lp.closing = true
	lp.ledger.paused = true
	lp.stopPump()           // may find the link failed and start an attach, stopped below
	if lp.stopWait != nil { // an attach is pending: stop it and close what it got
		lp.stopWait()
		if a := <-lp.attaching; a.l != nil {
			_ = a.l.Close(ctx)
		}
		lp.stopWait = nil
	}
	lp.takeBack()
	lp.releaseBuffered(ctx)
	if n := lp.buf.len(); n > 0 {
		r.log.Warn("closing with presettled deliveries never handed out: the broker has already forgotten them",
			"dropped", n)
		for lp.buf.len() > 0 {
			lp.buf.pop()
			lp.ledger.dropped(true)
		}
	}
	lp.waitHandlers(ctx)
	if lp.link != nil {
		lp.releaseDriverBuffered(ctx) // what arrived meanwhile
		if err := lp.link.Close(ctx); err != nil {
			r.log.Debug("detaching the receiver link failed", "err", err)
		}
		lp.link = nil
	}
	r.settleMu.Lock()
	r.gen.Add(1) // deliveries still handed out now fail with ErrLinkLost
	r.settleMu.Unlock()
	lp.finish(closedErr())
}

// releaseDriverBuffered releases what the driver has buffered and the loop
// never took in.
func (lp *loop) releaseDriverBuffered(ctx context.Context) {
	dropped := 0
	for {
		d, err := lp.link.Receive(doneContext)
		if err != nil {
			break
		}
		if d.Presettled {
			dropped++
		} else {
			lp.release(ctx, d)
		}
	}
	if dropped > 0 {
		lp.r.log.Warn("closing with presettled deliveries never handed out: the broker has already forgotten them",
			"dropped", dropped)
	}
}

// waitHandlers waits for Run's handlers to return, within ctx, answering
// commands meanwhile so a handler that asks for Stats does not deadlock Close.
func (lp *loop) waitHandlers(ctx context.Context) {
	r := lp.r
	idle := make(chan struct{})
	go func() { // ends when the last handler returns, even if ctx ended first
		r.runs.Wait()
		close(idle)
	}()
	for {
		select {
		case <-idle:
			return
		case <-ctx.Done():
			r.log.Warn("closing before every handler returned", "handling", r.handling.Load())
			return
		case c := <-r.cmds:
			c.do(lp)
			close(c.reply)
		case <-r.wake:
			lp.countSettled()
		}
	}
}

// finish records why the loop ends; run closes done after it.
func (lp *loop) finish(err error) {
	lp.countSettled()
	s := lp.stats()
	lp.r.lastStats.Store(&s)
	lp.r.err = err
	lp.r.setState(Closed)
}

func (lp *loop) stats() Stats {
	if lp.link != nil && !lp.closing && !lp.draining {
		lp.takeStock() // count what the driver holds too
	}
	lp.countSettled()
	lp.countArrivals()
	buffered := int64(lp.buf.len() + len(lp.r.out))
	return Stats{
		State:       lp.r.State(),
		Prefetch:    int(lp.ledger.prefetch),
		Paused:      lp.ledger.paused,
		Outstanding: lp.ledger.outstanding,
		Buffered:    int(buffered),
		Unsettled:   int(max(0, lp.ledger.held()-buffered)),
		Handling:    int(lp.r.handling.Load()),
		Received:    lp.ledger.received,
		Surplus:     lp.ledger.surplus,
		Settled:     lp.totals.settled,
		Released:    lp.totals.released,
		Recoveries:  lp.totals.recoveries,
	}
}
