package amqp091

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/message"
)

// confirmer tracks the publishes of a channel in confirm mode and turns the
// broker's confirms and returns into outcomes. One goroutine reads both, and
// amqp091-go hands it a message's basic.return before that message's ack (the
// return channel is unbuffered), so a returned message is known as returned when
// its ack arrives.
type confirmer struct {
	pendMu  sync.Mutex
	pending []*pendingPublish // by sequence number, oldest first
}

// pendingPublish is one publish awaiting its confirm. r is nil for a settled
// publish on a confirming channel: its confirm is counted and dropped.
type pendingPublish struct {
	seq      uint64
	r        *receipt
	returned string // the broker's reason, once it returned the message

	// What identifies the message in a basic.return, for mandatory publishes.
	mandatory     bool
	exchange, key string
	messageID     string
	body          []byte
}

// enableConfirms puts the channel in confirm mode once.
func (ch *channel) enableConfirms(ctx context.Context) error {
	ch.confirmMu.Lock()
	defer ch.confirmMu.Unlock()
	if ch.confirming {
		return nil
	}
	_, err := call(ctx, func() (struct{}, error) { return struct{}{}, ch.wire.Confirm(false) })
	if err != nil {
		return translate(err, errorpolicy.ScopeSession)
	}
	confirms := ch.wire.NotifyPublish(make(chan amqp.Confirmation, 1024))
	returns := ch.wire.NotifyReturn(make(chan amqp.Return))
	go ch.confirmLoop(confirms, returns)
	ch.pubMu.Lock()
	ch.confirming = true
	ch.pubMu.Unlock()
	return nil
}

// publish sends one message. With want, it returns a receipt for the broker's
// confirm (the channel must be confirming); otherwise a receipt already Accepted.
func (ch *channel) publish(ctx context.Context, exchange, key string, want bool, p *amqp.Publishing, messageID string) (*receipt, error) {
	ch.pubMu.Lock()
	var pp *pendingPublish
	if ch.confirming {
		pp = &pendingPublish{seq: ch.wire.GetNextPublishSeqNo()}
		if want {
			pp.r = newReceipt()
			pp.mandatory, pp.exchange, pp.key, pp.messageID, pp.body = true, exchange, key, messageID, p.Body
		}
		ch.pendMu.Lock()
		ch.pending = append(ch.pending, pp)
		ch.pendMu.Unlock()
	}
	err := ch.wire.PublishWithContext(ctx, exchange, key, want, false, *p)
	if err != nil && pp != nil {
		ch.pendMu.Lock()
		if n := len(ch.pending); n > 0 && ch.pending[n-1] == pp {
			ch.pending = ch.pending[:n-1]
		}
		ch.pendMu.Unlock()
	}
	ch.pubMu.Unlock()
	if err != nil {
		return nil, translate(err, errorpolicy.ScopeSession)
	}
	if pp == nil || pp.r == nil {
		return acceptedReceipt, nil
	}
	return pp.r, nil
}

// confirmLoop resolves receipts until the channel closes; what is still pending
// then has an unknown outcome.
func (ch *channel) confirmLoop(confirms <-chan amqp.Confirmation, returns <-chan amqp.Return) {
	for {
		select {
		case ret, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			ch.markReturned(&ret)
		case c, ok := <-confirms:
			if !ok {
				ch.failPending()
				return
			}
			ch.confirmed(c)
		}
	}
}

// markReturned finds the oldest pending mandatory publish the return is for.
func (ch *channel) markReturned(ret *amqp.Return) {
	reason := fmt.Sprintf("%s (%d)", ret.ReplyText, ret.ReplyCode)
	ch.pendMu.Lock()
	defer ch.pendMu.Unlock()
	for _, pp := range ch.pending {
		if pp.mandatory && pp.returned == "" && pp.exchange == ret.Exchange && pp.key == ret.RoutingKey &&
			pp.messageID == ret.MessageId && bytes.Equal(pp.body, ret.Body) {
			pp.returned = reason
			return
		}
	}
}

// confirmed resolves the publish with the confirm's sequence number; amqp091-go
// delivers confirms one by one, in order.
func (ch *channel) confirmed(c amqp.Confirmation) {
	ch.pendMu.Lock()
	var pp *pendingPublish
	for len(ch.pending) > 0 && ch.pending[0].seq <= c.DeliveryTag {
		p := ch.pending[0]
		ch.pending[0] = nil
		ch.pending = ch.pending[1:]
		if p.seq == c.DeliveryTag {
			pp = p
			break
		}
	}
	ch.pendMu.Unlock()
	if pp == nil || pp.r == nil {
		return
	}
	switch {
	case pp.returned != "":
		pp.r.resolve(message.Released{Reason: pp.returned}, nil)
	case c.Ack:
		pp.r.resolve(message.Accepted{}, nil)
	default:
		pp.r.resolve(message.Rejected{Condition: string(errorpolicy.CondInternalError), Description: "the broker nacked the message"}, nil)
	}
}

func (ch *channel) failPending() {
	ch.pendMu.Lock()
	pending := ch.pending
	ch.pending = nil
	ch.pendMu.Unlock()
	<-ch.dead // the channel's error is known by now or soon
	for _, pp := range pending {
		if pp.r != nil {
			e := errorpolicy.New(errorpolicy.CondOutcomeUnknown, "the channel closed before the broker confirmed the message", ch.err)
			e.Scope = errorpolicy.ScopeSession
			pp.r.resolve(nil, e)
		}
	}
}

// receipt is a link.Receipt resolved by the confirmer.
type receipt struct {
	done    chan struct{}
	outcome message.Outcome
	err     error
}

func newReceipt() *receipt { return &receipt{done: make(chan struct{})} }

func (r *receipt) resolve(o message.Outcome, err error) {
	r.outcome, r.err = o, err
	close(r.done)
}

// Wait returns the outcome, or ErrOutcomeUnknown when the channel closed first.
func (r *receipt) Wait(ctx context.Context) (message.Outcome, error) {
	select {
	case <-r.done:
		return r.outcome, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// acceptedReceipt is every settled publish's receipt.
var acceptedReceipt = func() *receipt {
	r := newReceipt()
	r.resolve(message.Accepted{}, nil)
	return r
}()
