package servicebus

import (
	"context"
	"errors"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// renewMargin is how long before a lock expires it is renewed, at most: half
// of what is left when that is less, so short locks are renewed in time too.
const renewMargin = 10 * time.Second

// renewRetry is the pause after a renewal that failed for a reason worth
// retrying (the service was busy, the connection was recovering).
const renewRetry = time.Second

// keepLocked renews d's lock until the returned stop is called, the lock is
// lost, or AutoRenewLock has passed since now. stop waits for the renewer.
func (r *Receiver) keepLocked(d *message.Delivery) (stop func()) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.AutoRenewLock)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.renewLoop(ctx, d)
	}()
	return func() {
		cancel()
		<-done
	}
}

func (r *Receiver) renewLoop(ctx context.Context, d *message.Delivery) {
	until, ok := LockedUntil(d)
	if !ok {
		until = time.Now() // unknown: renew at once to learn it
	}
	for {
		left := time.Until(until)
		wait := left - min(renewMargin, left/2)
		t := time.NewTimer(max(0, wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		next, err := r.mgmt.RenewLock(ctx, d)
		switch {
		case err == nil:
			until = next
		case ctx.Err() != nil:
			return
		case errors.Is(err, errorpolicy.ErrMessageLockLost), errors.Is(err, errorpolicy.ErrClosed):
			r.log.Warn("lock lost while the handler works; the message will be offered again",
				"lock_token", d.LockToken.String(), "err", err)
			return
		default:
			r.log.Info("renewing a lock failed; retrying", "err", err)
			until = time.Now().Add(2 * renewRetry) // retry after renewRetry
		}
	}
}
