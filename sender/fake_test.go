package sender_test

import (
	"context"
	"errors"
	"sync"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

// fakePeer is a link.Conn whose sender links record every message and settle it
// only when the test says so, in any order.
type fakePeer struct {
	mu       sync.Mutex
	sent     []*fakeDelivery
	settled  []*message.Message
	arrived  chan struct{} // a token per message sent unsettled
	sendErr  error         // returned by Send when set; set it before sending
	linkDone chan struct{} // closed to end the link
	closed   bool
}

type fakeDelivery struct {
	m       *message.Message
	outcome chan message.Outcome
}

func newPeer() *fakePeer {
	return &fakePeer{arrived: make(chan struct{}, 1<<16), linkDone: make(chan struct{})}
}

func (p *fakePeer) NewSession(context.Context, link.SessionOptions) (link.Session, error) {
	return p, nil
}
func (p *fakePeer) Done() <-chan struct{}       { return nil }
func (p *fakePeer) Err() error                  { return nil }
func (p *fakePeer) Close(context.Context) error { return nil }

func (p *fakePeer) NewReceiver(context.Context, link.ReceiverOptions) (link.ReceiverLink, error) {
	return nil, errors.New("not in these tests")
}
func (p *fakePeer) NewSender(context.Context, link.SenderOptions) (link.SenderLink, error) {
	return p, nil
}

func (p *fakePeer) Name() string           { return "fake" }
func (p *fakePeer) Address() string        { return "q" }
func (p *fakePeer) MaxMessageSize() uint64 { return 1 << 20 }

func (p *fakePeer) Send(ctx context.Context, m *message.Message, settled bool) (link.Receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sendErr != nil {
		return nil, p.sendErr
	}
	if p.closed {
		return nil, errorpolicy.New(errorpolicy.CondClosed, "link closed", nil)
	}
	if settled {
		p.settled = append(p.settled, m)
		return nil, nil
	}
	d := &fakeDelivery{m: m, outcome: make(chan message.Outcome, 1)}
	p.sent = append(p.sent, d)
	p.arrived <- struct{}{}
	return &fakeReceipt{d: d, linkDone: p.linkDone}, nil
}

// settle gives message i (in send order) its outcome.
func (p *fakePeer) settle(i int, o message.Outcome) {
	p.mu.Lock()
	d := p.sent[i]
	p.mu.Unlock()
	d.outcome <- o
}

func (p *fakePeer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sent)
}

// fakeReceipt waits the way go-amqp's does: for the outcome, the link's end, or ctx.
type fakeReceipt struct {
	d        *fakeDelivery
	linkDone chan struct{}
}

func (r *fakeReceipt) Wait(ctx context.Context) (message.Outcome, error) {
	select {
	case o := <-r.d.outcome:
		return o, nil
	case <-r.linkDone:
		return nil, errorpolicy.New(errorpolicy.CondOutcomeUnknown, "the link ended", nil)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
