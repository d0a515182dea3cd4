package sender_test

// Races between sends, re-attaches and Close, staged over a peer whose links
// call the test's hooks.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/sender"
)

// hookPeer is a link.Conn and link.Session whose sender links call hooks.
type hookPeer struct {
	mu       sync.Mutex
	attaches int
	// attach, if set, runs for every attach after the first (New's).
	attach func(ctx context.Context) error
	// send runs for every Send.
	send func(ctx context.Context, m *message.Message) (link.Receipt, error)
}

func (p *hookPeer) NewSession(context.Context, link.SessionOptions) (link.Session, error) {
	return p, nil
}
func (p *hookPeer) Done() <-chan struct{}       { return nil }
func (p *hookPeer) Err() error                  { return nil }
func (p *hookPeer) Close(context.Context) error { return nil }
func (p *hookPeer) NewReceiver(context.Context, link.ReceiverOptions) (link.ReceiverLink, error) {
	return nil, errors.New("not in these tests")
}
func (p *hookPeer) NewSender(ctx context.Context, _ link.SenderOptions) (link.SenderLink, error) {
	p.mu.Lock()
	p.attaches++
	first := p.attaches == 1
	p.mu.Unlock()
	if !first && p.attach != nil {
		if err := p.attach(ctx); err != nil {
			return nil, err
		}
	}
	return &hookLink{p: p}, nil
}

type hookLink struct{ p *hookPeer }

func (l *hookLink) Name() string                { return "hooked" }
func (l *hookLink) Address() string             { return "q" }
func (l *hookLink) MaxMessageSize() uint64      { return 1 << 20 }
func (l *hookLink) Close(context.Context) error { return nil }
func (l *hookLink) Send(ctx context.Context, m *message.Message, _ bool) (link.Receipt, error) {
	return l.p.send(ctx, m)
}

type fixedReceipt struct {
	o   message.Outcome
	err error
}

func (r fixedReceipt) Wait(context.Context) (message.Outcome, error) { return r.o, r.err }

// A SendAsync whose context ends while another send attaches a new link, and a
// Close, return within their contexts instead of waiting out the attach.
func TestSendAsyncAndCloseHonourTheirContextWhileAnotherSendAttaches(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	defer release()
	var mu sync.Mutex
	failed := false
	p := &hookPeer{
		attach: func(ctx context.Context) error {
			select {
			case <-gate:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		send: func(ctx context.Context, m *message.Message) (link.Receipt, error) {
			mu.Lock()
			defer mu.Unlock()
			if !failed { // the link is detached under the first send
				failed = true
				return nil, &errorpolicy.Error{Condition: errorpolicy.CondDetachForced,
					Scope: errorpolicy.ScopeLink, Class: errorpolicy.RecoverLink}
			}
			return fixedReceipt{o: message.Accepted{}}, nil
		},
	}
	s := open(t, p, nil)
	ctx := testCtx(t)
	go func() { _, _ = s.SendAsync(ctx, msg(0)) }() // attaches, and waits on gate
	require.Eventually(t, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.attaches == 2 },
		time.Second, time.Millisecond)

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { _, err := s.SendAsync(short, msg(1)); done <- err }()
	sendReturned := false
	select {
	case err := <-done:
		sendReturned = true
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(2 * time.Second):
		t.Errorf("SendAsync with a 100ms context still blocked after %v (behind another attach)", time.Since(start))
	}

	closeCtx, cancelClose := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelClose()
	closed := make(chan struct{})
	go func() { _ = s.Close(closeCtx); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Errorf("Close with a 100ms context still blocked after 2s (behind another attach)")
	}
	release()
	if !sendReturned {
		<-done
	}
	<-closed
}

// A message whose hand-over is under way when Close begins is awaited like the
// others: its outcome is reported, and Close, having had time, reports nothing
// unknown.
func TestCloseWaitsForAMessageOnItsWayToTheLink(t *testing.T) {
	inSend := make(chan struct{})
	gate := make(chan struct{})
	settle := make(chan message.Outcome, 1)
	p := &hookPeer{send: func(ctx context.Context, m *message.Message) (link.Receipt, error) {
		close(inSend)
		<-gate // waiting for credit, say
		return chanReceipt(settle), nil
	}}
	s := open(t, p, nil)
	ctx := testCtx(t)
	type res struct {
		r   *sender.Receipt
		err error
	}
	sent := make(chan res, 1)
	go func() { r, err := s.SendAsync(ctx, msg(0)); sent <- res{r, err} }()
	<-inSend

	closeErr := make(chan error, 1)
	go func() { closeErr <- s.Close(ctx) }() // 10 s to wait for outcomes
	time.Sleep(50 * time.Millisecond)
	close(gate)                  // the message goes out
	settle <- message.Accepted{} // and the peer accepts it at once
	got := <-sent
	require.NoError(t, got.err, "SendAsync took the message")
	_, err := got.r.Wait(ctx)
	assert.NoError(t, err, "Close had 10 s to wait for this outcome")
	cerr := <-closeErr
	if cerr == nil {
		assert.Empty(t, s.Pending(), "Close said nothing was unknown")
	}
}

type chanReceipt chan message.Outcome

func (c chanReceipt) Wait(ctx context.Context) (message.Outcome, error) {
	select {
	case o := <-c:
		return o, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// With AtLeastOnce, a message whose link always ends before its outcome (a
// poison message the peer detaches on) is resent only as often as the policy
// allows; then its receipt fails and the ones behind it go on.
func TestAtLeastOnceResendsAreBoundedByThePolicy(t *testing.T) {
	p := &hookPeer{send: func(ctx context.Context, m *message.Message) (link.Receipt, error) {
		return fixedReceipt{err: &errorpolicy.Error{
			Condition: errorpolicy.CondOutcomeUnknown, Scope: errorpolicy.ScopeLink, Class: errorpolicy.Fatal,
			Err: &errorpolicy.Error{Condition: errorpolicy.CondDetachForced, Scope: errorpolicy.ScopeLink,
				Class: errorpolicy.RecoverLink},
		}}, nil
	}}
	s := open(t, p, &sender.Options{AtLeastOnce: true, Policy: &errorpolicy.Policy{MaxRetries: 1}})
	ctx := testCtx(t)
	r, err := s.SendAsync(ctx, msg(0))
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = r.Wait(wctx)
	assert.ErrorIs(t, err, errorpolicy.ErrOutcomeUnknown, "the receipt should fail once the policy gives up")
	assert.LessOrEqual(t, s.Resent(), uint64(2), "resends should be bounded by MaxRetries")
}
