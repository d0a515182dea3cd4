package session_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeConn is a driver whose links record their closes; closeDelay makes a close
// wait (honouring its context), like a peer that is slow to answer a detach.
type fakeConn struct {
	closeDelay time.Duration
	mu         sync.Mutex
	closed     []string
	sessClosed atomic.Int32
	drainable  bool
}

func (c *fakeConn) NewSession(context.Context, link.SessionOptions) (link.Session, error) {
	return &fakeSession{c: c}, nil
}
func (c *fakeConn) Done() <-chan struct{}       { return nil }
func (c *fakeConn) Err() error                  { return nil }
func (c *fakeConn) Close(context.Context) error { return nil }
func (c *fakeConn) record(name string)          { c.mu.Lock(); c.closed = append(c.closed, name); c.mu.Unlock() }
func (c *fakeConn) closedLinks() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.closed...)
}
func (c *fakeConn) wait(ctx context.Context) error {
	select {
	case <-time.After(c.closeDelay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type fakeSession struct{ c *fakeConn }

func (s *fakeSession) NewReceiver(_ context.Context, o link.ReceiverOptions) (link.ReceiverLink, error) {
	r := &fakeReceiver{c: s.c, name: o.Source}
	if s.c.drainable {
		return &fakeDrainingReceiver{r}, nil
	}
	return r, nil
}
func (s *fakeSession) NewSender(_ context.Context, o link.SenderOptions) (link.SenderLink, error) {
	return &fakeSender{c: s.c, name: o.Target}, nil
}
func (s *fakeSession) Close(context.Context) error { s.c.sessClosed.Add(1); return nil }

type fakeReceiver struct {
	c    *fakeConn
	name string
}

func (r *fakeReceiver) Name() string             { return r.name }
func (r *fakeReceiver) Address() string          { return r.name }
func (r *fakeReceiver) IssueCredit(uint32) error { return nil }
func (r *fakeReceiver) Receive(context.Context) (*message.Delivery, error) {
	return nil, errors.New("none")
}
func (r *fakeReceiver) Settle(context.Context, *message.Delivery, message.Outcome) error {
	return errors.New("none received")
}
func (r *fakeReceiver) Close(ctx context.Context) error {
	err := r.c.wait(ctx)
	r.c.record(r.name)
	return err
}

type fakeDrainingReceiver struct{ *fakeReceiver }

func (r *fakeDrainingReceiver) Drain(context.Context) error { return nil }

type fakeSender struct {
	c    *fakeConn
	name string
}

func (s *fakeSender) Name() string           { return s.name }
func (s *fakeSender) Address() string        { return s.name }
func (s *fakeSender) MaxMessageSize() uint64 { return 0 }
func (s *fakeSender) Send(context.Context, *message.Message, bool) (link.Receipt, error) {
	return nil, errors.New("not in this test")
}
func (s *fakeSender) Close(ctx context.Context) error {
	err := s.c.wait(ctx)
	s.c.record(s.name)
	return err
}

func TestCloseClosesEveryOwnedLinkConcurrently(t *testing.T) {
	conn := &fakeConn{closeDelay: 200 * time.Millisecond}
	ctx := context.Background()
	sess, err := session.New(ctx, conn, nil)
	require.NoError(t, err)
	for _, a := range []string{"r1", "r2", "r3"} {
		_, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: a})
		require.NoError(t, err)
	}
	_, err = sess.NewSenderLink(ctx, link.SenderOptions{Target: "s1"})
	require.NoError(t, err)

	start := time.Now()
	require.NoError(t, sess.Close(ctx))
	assert.Less(t, time.Since(start), 600*time.Millisecond, "four 200 ms closes ran concurrently")
	assert.ElementsMatch(t, []string{"r1", "r2", "r3", "s1"}, conn.closedLinks())
	assert.Equal(t, int32(1), conn.sessClosed.Load())

	require.NoError(t, sess.Close(ctx), "a second close is a no-op")
	assert.Equal(t, int32(1), conn.sessClosed.Load())
	_, err = sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: "late"})
	assert.ErrorIs(t, err, errorpolicy.ErrClosed)
	_, err = sess.NewSenderLink(ctx, link.SenderOptions{Target: "late"})
	assert.ErrorIs(t, err, errorpolicy.ErrClosed)
}

func TestCloseIsBoundedByContext(t *testing.T) {
	conn := &fakeConn{closeDelay: time.Hour}
	sess, err := session.New(context.Background(), conn, nil)
	require.NoError(t, err)
	_, err = sess.NewReceiverLink(context.Background(), link.ReceiverOptions{Source: "stuck"})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = sess.Close(ctx)
	assert.Less(t, time.Since(start), time.Second)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, int32(1), conn.sessClosed.Load(), "the session is ended even when a link close timed out")
}

func TestLinkClosedByUserIsNotClosedAgain(t *testing.T) {
	conn := &fakeConn{}
	ctx := context.Background()
	sess, err := session.New(ctx, conn, nil)
	require.NoError(t, err)
	r, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: "r"})
	require.NoError(t, err)
	s, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: "s"})
	require.NoError(t, err)
	require.NoError(t, r.Close(ctx))
	require.NoError(t, s.Close(ctx))
	require.NoError(t, sess.Close(ctx))
	assert.Equal(t, []string{"r", "s"}, conn.closedLinks(), "each link closed exactly once")
}

func TestOptionalDrainerStaysVisible(t *testing.T) {
	ctx := context.Background()
	for _, drainable := range []bool{false, true} {
		sess, err := session.New(ctx, &fakeConn{drainable: drainable}, nil)
		require.NoError(t, err)
		r, err := sess.NewReceiverLink(ctx, link.ReceiverOptions{Source: "r"})
		require.NoError(t, err)
		_, ok := r.(link.Drainer)
		assert.Equal(t, drainable, ok, "the wrapper offers Drain exactly when the driver does")
		require.NoError(t, sess.Close(ctx))
	}
}
