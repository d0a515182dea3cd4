package receiver

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// attachTimeout bounds one attempt to attach a new link, reconnecting included,
// so that a peer that stopped answering costs an attempt, not the receiver.
const attachTimeout = 30 * time.Second

// recover handles the failure of the current link (or of an attach): it asks the
// policy whether to attach a new one, and otherwise fails the receiver. Every
// action but GiveUp attaches again: the session reconnects first when the
// connection has gone.
func (lp *loop) recover(cause error) {
	lp.attempt++
	a := errorpolicy.Attempt{N: lp.attempt}
	if lp.link != nil {
		a.Idle = time.Since(lp.activeAt)
	}
	d := lp.r.opts.Policy.Decide(cause, a)
	lp.dropLink(cause)
	if d.Action == errorpolicy.GiveUp {
		lp.fail(cause)
		return
	}
	lp.r.log.Debug("receiver link failed; attaching a new one", "err", cause, "action", d.Action, "attempt", a.N, "wait", d.Wait)
	lp.attachAfter(d.Wait)
}

// reattach replaces a working link whose credit can no longer be known.
func (lp *loop) reattach(cause error) {
	lp.dropLink(cause)
	lp.attachAfter(0)
}

// dropLink ends the current link. Buffered deliveries that need settling are
// released (they could not be settled after the link is gone; the peer would take
// them back anyway); presettled ones stay buffered for the application.
// Deliveries handed out on the old link will never settle, so the ledger forgets
// them.
func (lp *loop) dropLink(cause error) {
	if lp.link == nil {
		return
	}
	lp.r.setState(Recovering)
	l := lp.link
	lp.link = nil // arrivals the pump still held are buffered, then released below
	lp.stopPump()
	lp.takeBack()
	ctx, cancel := context.WithTimeout(context.Background(), lastWait)
	defer cancel()
	lp.releaseBuffered(ctx)

	lp.r.settleMu.Lock()
	lp.countSettled()
	lp.gen = lp.r.gen.Add(1)
	lp.r.settleMu.Unlock()
	lp.ledger.reset()

	_ = l.Close(ctx) // usually already gone with the failure
	lp.draining = false
	lp.r.log.Debug("receiver link dropped", "err", cause)
}

// releaseBuffered releases every buffered delivery that needs settling and keeps
// the presettled ones.
func (lp *loop) releaseBuffered(ctx context.Context) {
	lp.buf.filter(func(d *message.Delivery) bool {
		if d.Presettled {
			return true
		}
		lp.release(ctx, d)
		lp.ledger.dropped(false)
		return false
	})
}

// release releases a delivery of the current link the application never saw.
func (lp *loop) release(ctx context.Context, d *message.Delivery) {
	if err := lp.settler.release(ctx, d); err != nil {
		lp.r.log.Debug("releasing a buffered delivery failed; the peer takes it back with the link", "err", err)
	} else {
		lp.totals.released++
	}
}

// attachAfter attaches a new link in the background after wait.
func (lp *loop) attachAfter(wait time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	lp.stopWait = cancel
	r := lp.r
	go func() {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			lp.attaching <- attachResult{err: ctx.Err()}
			return
		}
		actx, cancel := context.WithTimeout(ctx, attachTimeout)
		defer cancel()
		lopts := r.lopts
		if r.opts.OnReattach != nil {
			lopts.Filters = slices.Clone(lopts.Filters) // the hook gets copies it may change
			lopts.Properties = maps.Clone(lopts.Properties)
			r.opts.OnReattach(&lopts)
		}
		l, err := r.sess.NewReceiverLink(actx, lopts)
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = errorpolicy.New(errorpolicy.CondTimeout, "attaching a new receiver link timed out", nil)
		}
		lp.attaching <- attachResult{l: l, err: err}
	}()
}

func (lp *loop) attached(a attachResult) {
	lp.stopWait()
	lp.stopWait = nil
	if a.err != nil {
		lp.recover(a.err)
		return
	}
	lp.attempt = 0
	lp.totals.recoveries++
	lp.use(a.l)
	lp.r.setState(Open)
	lp.r.log.Info("receiver recovered", "recoveries", lp.totals.recoveries)
	if lp.explicit != nil {
		lp.setOutstanding(*lp.explicit)
		lp.explicit = nil
	}
}

// fail ends the receiver with err once the presettled deliveries it still
// buffers have been handed out.
func (lp *loop) fail(err error) {
	lp.failed = err
	lp.r.log.Error("receiver failed", "err", err)
}
