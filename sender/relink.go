package sender

import (
	"context"
	"errors"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// attached is one link of the sender's and its generation. Receipts remember
// the generation they were sent on, so that many messages lost with one link
// cause one re-attach.
type attached struct {
	link link.SenderLink
	gen  uint64
}

// attachTimeout bounds one attempt to attach a new link, reconnecting included.
const attachTimeout = 30 * time.Second

// install makes l the current link. Callers hold attaching, or own s alone.
func (s *Sender) install(l link.SenderLink) *attached {
	s.gens++
	a := &attached{link: l, gen: s.gens}
	s.maxSize.Store(l.MaxMessageSize())
	if bs, ok := l.(link.BatchSender); ok && s.encode == nil {
		s.encode = bs.Encode // the driver's, the same for every link it makes
	}
	s.cur.Store(a)
	return a
}

// handOver sends m on the current link, attaching a new one first if the last
// failed. A failure the policy deems recoverable (the link detached, the
// connection dropped, the peer busy) is retried within ctx on a new link; what
// the policy gives up on is returned. A message that failed to be handed over
// was not sent, so retrying it repeats nothing.
func (s *Sender) handOver(ctx context.Context, m *message.Message, settled bool, batch [][]byte) (link.Receipt, uint64, error) {
	a := s.cur.Load()
	if a != nil { // the hot path: one attempt on a live link
		w, err := transmit(ctx, a.link, m, settled, batch)
		if err == nil {
			return w, a.gen, nil
		}
		if !s.retry(ctx, a, err, 1) {
			return nil, 0, err
		}
	}
	for n := 2; ; n++ {
		a, err := s.linkFor(ctx)
		if err == nil {
			var w link.Receipt
			if w, err = transmit(ctx, a.link, m, settled, batch); err == nil {
				return w, a.gen, nil
			}
		}
		if !s.retry(ctx, a, err, n) {
			return nil, 0, err
		}
	}
}

// transmit sends m, or the encoded batch when there is one, on l.
func transmit(ctx context.Context, l link.SenderLink, m *message.Message, settled bool, batch [][]byte) (link.Receipt, error) {
	if batch == nil {
		return l.Send(ctx, m, settled)
	}
	bs, ok := l.(link.BatchSender)
	if !ok {
		return nil, errorpolicy.New(errorpolicy.CondNotSupported, "the link cannot send batches", nil)
	}
	return bs.SendBatch(ctx, batch)
}

// retry asks the policy about err, the nth consecutive failure, drops the link
// it happened on unless the peer was merely busy, and waits the policy's pause.
// It reports whether to try again.
func (s *Sender) retry(ctx context.Context, a *attached, err error, n int) bool {
	d := s.opts.Policy.Decide(err, errorpolicy.Attempt{N: n})
	if d.Action == errorpolicy.GiveUp || s.isClosing() {
		if a != nil && endedSomething(err) {
			s.drop(a.gen, err)
		}
		return false
	}
	if a != nil && (d.Action != errorpolicy.RetryInPlace || endedSomething(err)) {
		s.drop(a.gen, err)
	}
	s.log.Debug("send failed; trying again", "err", err, "action", d.Action, "attempt", n, "wait", d.Wait)
	if d.Wait <= 0 {
		return true
	}
	t := time.NewTimer(d.Wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing.Done():
		return false
	}
}

// linkFor returns the current link, attaching a new one if there is none.
// Concurrent callers share one attach.
func (s *Sender) linkFor(ctx context.Context) (*attached, error) {
	if a := s.cur.Load(); a != nil {
		return a, nil
	}
	select {
	case s.attaching <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.attaching }()
	if a := s.cur.Load(); a != nil {
		return a, nil
	}
	if err := s.fatal.Load(); err != nil {
		return nil, *err
	}
	if s.isClosing() {
		return nil, closedErr()
	}
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	defer context.AfterFunc(s.closing, cancel)()
	l, err := s.sess.NewSenderLink(actx, s.lopts)
	if err != nil {
		if s.isClosing() {
			return nil, closedErr()
		}
		return nil, err
	}
	s.linkMu.Lock()
	if s.closedLinks { // Close took the last link while this one attached
		s.linkMu.Unlock()
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), closeWait)
		defer dcancel()
		_ = l.Close(dctx)
		return nil, closedErr()
	}
	a := s.install(l)
	s.linkMu.Unlock()
	s.log.Info("sender recovered", "links", a.gen)
	return a, nil
}

// drop forgets the link of generation gen after it failed with cause, if it is
// still the current one, and detaches it in the background. When cause is
// Fatal under the policy (the peer revoked access, another client stole the
// link), no link is attached again: later sends fail with cause. A spent retry
// budget is not such a cause: it ends one send, not the sender.
func (s *Sender) drop(gen uint64, cause error) {
	s.linkMu.Lock()
	defer s.linkMu.Unlock()
	a := s.cur.Load()
	if a == nil || a.gen != gen || s.closedLinks || !s.cur.CompareAndSwap(a, nil) {
		return
	}
	if s.opts.Policy.Class(cause) == errorpolicy.Fatal {
		s.fatal.CompareAndSwap(nil, &cause)
		s.log.Error("sender link failed for good", "err", cause)
	}
	s.log.Debug("sender link dropped", "err", cause)
	s.detaching.Add(1)
	go func() { // Close waits for it
		defer s.detaching.Done()
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		defer cancel()
		_ = a.link.Close(ctx)
	}()
}

// endedSomething reports an error that ended the link, its session or the
// connection, as opposed to one about a single operation.
func endedSomething(err error) bool {
	var e *errorpolicy.Error
	return errors.As(err, &e) && e.Scope != errorpolicy.ScopeNone
}

// linkEnded reports, for an awaited receipt that failed, whether its link ended
// before the outcome came; it then drops that link so that the next send
// attaches a new one.
func (s *Sender) linkEnded(r *Receipt, err error) bool {
	var e *errorpolicy.Error
	if !errors.As(err, &e) || e.Condition != errorpolicy.CondOutcomeUnknown || e.Scope == errorpolicy.ScopeNone {
		return false
	}
	cause := e.Err // what ended the link
	if cause == nil {
		cause = err
	}
	s.drop(r.gen, cause)
	return true
}

// awaitResending awaits r's outcome, resending its message on a new link each
// time its link ends first (AtLeastOnce), as long as the policy allows: its
// retries count the resends of one message, so one the peer detaches on every
// time is not resent forever. Whatever ended the link, the resend is tried: a
// link this sender closed itself (after a failed send on it) ends its receipts
// with a local close, which is no reason to give the message up.
func (s *Sender) awaitResending(r *Receipt) (message.Outcome, error) {
	o, err := s.await(r)
	for n := 1; err != nil; n++ {
		if !s.linkEnded(r, err) || !s.opts.AtLeastOnce || s.isClosing() || n > s.opts.Policy.Retries() {
			break
		}
		if rerr := s.resend(r); rerr != nil {
			return nil, unknown("the link ended before the outcome came, and resending failed", errors.Join(err, rerr))
		}
		o, err = s.await(r)
	}
	return o, err
}

// resend hands r's message to a new link, within the sender's life and the
// policy's retries.
func (s *Sender) resend(r *Receipt) error {
	ctx := s.life
	if s.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
	}
	w, gen, err := s.handOver(ctx, r.msg, false, r.batch)
	if err != nil {
		return err
	}
	r.wire, r.gen = w, gen
	if s.opts.Timeout > 0 {
		r.sent = time.Now()
	}
	s.resent.Add(1)
	s.log.Debug("message resent after its link ended")
	return nil
}
