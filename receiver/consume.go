package receiver

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amqplink/amqplink/message"
)

// Receive returns the next delivery, waiting until one arrives, ctx ends, or the
// receiver finishes (errorpolicy.ErrClosed after Close, otherwise the error that
// ended it). In PeekLock mode the delivery must be settled.
func (r *Receiver) Receive(ctx context.Context) (*message.Delivery, error) {
	select {
	case d := <-r.out:
		r.took(d)
		return d, nil
	default:
	}
	select {
	case d := <-r.out:
		r.took(d)
		return d, nil
	case <-r.closing:
		return nil, closedErr()
	case <-r.done:
		select {
		case d := <-r.out: // handed out before the end: still the caller's
			r.took(d)
			return d, nil
		default:
		}
		return nil, r.doneErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *Receiver) doneErr() error {
	if r.err != nil {
		return r.err
	}
	return closedErr()
}

// BatchOptions configures one ReceiveBatch call. Nil gives the defaults.
type BatchOptions struct {
	// MaxWait is how long to wait for more deliveries after the first one.
	// Default: Options.BatchWait (20 ms).
	MaxWait time.Duration
}

// ReceiveBatch waits for the first delivery (within ctx), then returns when limit
// deliveries are in hand or MaxWait has passed since the first, whichever comes
// first. Asking for more than the prefetch grants the extra credit for this call.
// It returns what it has, with no error, if the receiver finishes after the
// first delivery.
func (r *Receiver) ReceiveBatch(ctx context.Context, limit int, o *BatchOptions) ([]*message.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	wait := r.opts.BatchWait
	if o != nil && o.MaxWait > 0 {
		wait = o.MaxWait
	}
	if limit > r.opts.Prefetch {
		if err := r.call(ctx, func(lp *loop) { lp.ledger.demand = max(lp.ledger.demand, int64(limit)) }); err == nil {
			defer r.call(context.Background(), func(lp *loop) { lp.ledger.demand = 0 })
		}
	}
	first, err := r.Receive(ctx)
	if err != nil {
		return nil, err
	}
	batch := make([]*message.Delivery, 1, limit)
	batch[0] = first
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for len(batch) < limit {
		select {
		case d := <-r.out:
			r.took(d)
			batch = append(batch, d)
		case <-timer.C:
			return batch, nil
		case <-r.closing:
			return batch, nil
		case <-r.done:
			return batch, nil
		case <-ctx.Done():
			return batch, nil
		}
	}
	return batch, nil
}

// All returns an iterator over deliveries, for range loops. It stops when ctx
// ends or the receiver finishes, yielding the error once (nil delivery); a loop
// that breaks early simply stops receiving.
//
//	for d, err := range rcv.All(ctx) {
//		if err != nil { return err }
//		...
//	}
func (r *Receiver) All(ctx context.Context) iter.Seq2[*message.Delivery, error] {
	return func(yield func(*message.Delivery, error) bool) {
		for {
			d, err := r.Receive(ctx)
			if !yield(d, err) || err != nil {
				return
			}
		}
	}
}

// Handler handles one delivery for Run. Returning nil accepts the delivery;
// returning an error settles it with Options.OnHandlerError. A handler that
// settles the delivery itself decides its outcome.
type Handler func(ctx context.Context, d *message.Delivery) error

// Run calls h for each delivery, with up to Options.Concurrency calls at once,
// until ctx ends (Run returns ctx's error) or the receiver is closed (nil) or
// fails (its error). Close waits for running handlers.
func (r *Receiver) Run(ctx context.Context, h Handler) error {
	r.runMu.Lock()
	if r.runClosed {
		r.runMu.Unlock()
		return closedErr()
	}
	r.runs.Add(r.opts.Concurrency)
	r.runMu.Unlock()

	errs := make([]error, r.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range r.opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{r: r}
			defer w.leave()
			errs[i] = r.work(context.WithValue(ctx, workerKey{}, w), h)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !isClosed(err) {
			return err
		}
	}
	return nil
}

// worker is one of Run's workers, known to its handler's ctx, so that Close
// called from the handler does not wait for the handler it is called from.
type worker struct {
	r    *Receiver
	left atomic.Bool
}

type workerKey struct{}

// leave takes the worker out of Receiver.runs, once: when it ends, or when its
// handler calls Close.
func (w *worker) leave() {
	if !w.left.Swap(true) {
		w.r.runs.Done()
	}
}

// work is one of Run's workers.
func (r *Receiver) work(ctx context.Context, h Handler) error {
	sctx := context.WithoutCancel(ctx) // settle what was handled even when ctx ended meanwhile
	for {
		d, err := r.Receive(ctx)
		if err != nil {
			return err
		}
		r.handling.Add(1)
		herr := h(ctx, d)
		if !d.Settled() {
			var serr error
			if herr == nil {
				serr = d.Accept(sctx)
			} else {
				serr = d.Settle(sctx, r.opts.OnHandlerError)
			}
			if serr != nil {
				r.log.Warn("settling after the handler failed", "handler_err", herr, "err", serr)
			}
		}
		r.handling.Add(-1)
	}
}
