package amqp091

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// confirmer holds what a channel in confirm mode needs beyond amqp091-go's own
// deferred confirmations: the basic.returns not yet matched to their publishes.
// amqp091-go's reader puts a message's return in the (buffered) returns channel
// before it handles the ack that completes that message's confirmation, so a
// receipt that drains the channel after its confirmation completed has seen its
// own return, if any. Publishers drain it too, so it never fills.
type confirmer struct {
	returns <-chan amqp.Return

	retMu    sync.Mutex
	returned []returnedMessage // oldest first
}

// returnedMessage is what identifies a returned message, and why it came back.
type returnedMessage struct {
	exchange, key, messageID string
	body                     []byte
	reason                   string
}

// maxUnmatchedReturns bounds the returns kept for receipts nobody waits on.
const maxUnmatchedReturns = 1024

// enableConfirms puts the channel in confirm mode once. No publish may reach the
// broker between confirm.select and its answer: the broker would number it and
// amqp091-go, which numbers publishes from the answer on, would not, and every
// later confirm would go to the wrong publish. So pubMu is held until the
// answer, even past ctx.
func (ch *channel) enableConfirms(ctx context.Context) error {
	ch.confirmMu.Lock()
	defer ch.confirmMu.Unlock()
	if ch.confirming.Load() {
		return nil
	}
	ch.pubMu.Lock()
	_, err := call(ctx, func() (struct{}, error) {
		defer ch.pubMu.Unlock()
		if ch.confirming.Load() { // by an earlier call that gave up waiting
			return struct{}{}, nil
		}
		if err := ch.wire.Confirm(false); err != nil {
			return struct{}{}, err
		}
		ch.returns = ch.wire.NotifyReturn(make(chan amqp.Return, maxUnmatchedReturns))
		ch.confirming.Store(true)
		return struct{}{}, nil
	})
	if err != nil {
		return translate(err, errorpolicy.ScopeSession)
	}
	return nil
}

// publish sends one message. With want (the channel must be confirming), the
// publish is mandatory and the receipt reports the broker's confirm; otherwise
// the receipt is already Accepted.
func (ch *channel) publish(ctx context.Context, exchange, key string, want bool, p *amqp.Publishing, messageID string) (*receipt, error) {
	ch.pubMu.RLock()
	dc, err := ch.wire.PublishWithDeferredConfirmWithContext(ctx, exchange, key, want, false, *p)
	ch.pubMu.RUnlock()
	if ch.confirming.Load() && len(ch.returns) > 0 {
		ch.takeReturns()
	}
	if err != nil {
		return nil, translate(err, errorpolicy.ScopeSession)
	}
	if !want || dc == nil {
		return acceptedReceipt, nil
	}
	return &receipt{ch: ch, dc: dc, exchange: exchange, key: key, messageID: messageID, body: p.Body}, nil
}

// takeReturns moves what the returns channel holds into ch.returned.
// The caller need not hold retMu.
func (ch *channel) takeReturns() {
	ch.retMu.Lock()
	defer ch.retMu.Unlock()
	ch.drainReturnsLocked()
}

func (ch *channel) drainReturnsLocked() {
	for {
		select {
		case ret, ok := <-ch.returns:
			if !ok {
				return
			}
			if len(ch.returned) == maxUnmatchedReturns {
				ch.returned = ch.returned[1:]
			}
			ch.returned = append(ch.returned, returnedMessage{
				exchange: ret.Exchange, key: ret.RoutingKey, messageID: ret.MessageId, body: ret.Body,
				reason: fmt.Sprintf("%s (%d)", ret.ReplyText, ret.ReplyCode),
			})
		default:
			return
		}
	}
}

// returnOf takes the oldest return that matches r, and reports its reason.
func (ch *channel) returnOf(r *receipt) string {
	ch.retMu.Lock()
	defer ch.retMu.Unlock()
	ch.drainReturnsLocked()
	for i, rm := range ch.returned {
		if rm.exchange == r.exchange && rm.key == r.key && rm.messageID == r.messageID && bytes.Equal(rm.body, r.body) {
			ch.returned = append(ch.returned[:i], ch.returned[i+1:]...)
			return rm.reason
		}
	}
	return ""
}

// receipt is a link.Receipt over amqp091-go's deferred confirmation.
type receipt struct {
	ch *channel
	dc *amqp.DeferredConfirmation

	// What identifies the message in a basic.return.
	exchange, key, messageID string
	body                     []byte

	once    sync.Once
	outcome message.Outcome
	err     error
}

// Wait returns the outcome: ack → Accepted, or Released with the reason when the
// broker returned the message first; nack → Rejected; ErrOutcomeUnknown when the
// channel closed before the confirm.
func (r *receipt) Wait(ctx context.Context) (message.Outcome, error) {
	if r.dc == nil {
		return message.Accepted{}, nil
	}
	select {
	case <-r.dc.Done(): // usually confirmed already: no need to watch ctx
	default:
		select {
		case <-r.dc.Done():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r.once.Do(r.decide)
	return r.outcome, r.err
}

func (r *receipt) decide() {
	if r.dc.Acked() {
		if reason := r.ch.returnOf(r); reason != "" {
			r.outcome = message.Released{Reason: reason}
		} else {
			r.outcome = message.Accepted{}
		}
		r.body = nil
		return
	}
	r.body = nil
	// amqp091-go completes every pending confirmation unacknowledged when the
	// channel closes, and marks the channel closed before it does.
	if r.ch.wire.IsClosed() {
		var cause error
		select {
		case <-r.ch.dead:
			cause = r.ch.err // written before dead closed
		case <-time.After(time.Second):
		}
		e := errorpolicy.New(errorpolicy.CondOutcomeUnknown, "the channel closed before the broker confirmed the message", cause)
		e.Scope = errorpolicy.ScopeSession
		r.err = e
		return
	}
	r.outcome = message.Rejected{Condition: string(errorpolicy.CondInternalError), Description: "the broker nacked the message"}
}

// acceptedReceipt is every settled publish's receipt.
var acceptedReceipt = &receipt{}
