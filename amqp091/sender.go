package amqp091

import (
	"context"
	"fmt"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// senderLink publishes to one address. Unsettled sends are mandatory publishes
// on a confirming channel: a confirm ack is Accepted, a nack Rejected, and a
// message the broker could not route comes back Released with the reason.
// Settled sends are plain publishes: fire and forget.
type senderLink struct {
	ch   *channel
	addr Address
	opts link.SenderOptions
}

var _ link.SenderLink = (*senderLink)(nil)

func (s *senderLink) Name() string           { return s.opts.Name }
func (s *senderLink) Address() string        { return s.opts.Target }
func (s *senderLink) MaxMessageSize() uint64 { return s.opts.MaxMessageSize }

// Send publishes m. A send on a channel that has closed fails with the
// channel's error, and the receiver or sender above attaches again.
func (s *senderLink) Send(ctx context.Context, m *message.Message, settled bool) (link.Receipt, error) {
	if s.ch.isDead() {
		return nil, s.ch.err
	}
	p, err := toPublishing(m)
	if err != nil {
		return nil, err
	}
	if n := uint64(len(p.Body)); n > s.opts.MaxMessageSize {
		return nil, errorpolicy.New(errorpolicy.CondMessageSizeExceeded,
			fmt.Sprintf("the message body is %d bytes; the link accepts at most %d", n, s.opts.MaxMessageSize), nil)
	}
	key := s.addr.RoutingKey
	if !s.addr.KeyGiven && m.Properties != nil && m.Properties.Subject != nil {
		key = *m.Properties.Subject
	}
	want := !settled && s.opts.SettleMode != link.SenderSettled
	r, err := s.ch.publish(ctx, s.addr.Exchange, key, want, &p, p.MessageId)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Close forgets the sender; publishing needs no detach in AMQP 0-9-1. Receipts
// of messages already sent still resolve.
func (s *senderLink) Close(context.Context) error { return nil }
