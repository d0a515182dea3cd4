package recovery

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// fakeConn is a driver connection that can be made to fail.
type fakeConn struct {
	id       int
	done     chan struct{}
	sessions atomic.Int32
	attachFn func() error // the error attaches return; nil: they succeed
}

func newFake(id int) *fakeConn { return &fakeConn{id: id, done: make(chan struct{})} }

func (c *fakeConn) fail() { close(c.done) }

func (c *fakeConn) NewSession(context.Context, link.SessionOptions) (link.Session, error) {
	select {
	case <-c.done:
		return nil, lostErr()
	default:
	}
	c.sessions.Add(1)
	return &fakeSession{c: c}, nil
}
func (c *fakeConn) Done() <-chan struct{} { return c.done }
func (c *fakeConn) Err() error {
	select {
	case <-c.done:
		return lostErr()
	default:
		return nil
	}
}
func (c *fakeConn) Close(context.Context) error { return nil }

type fakeSession struct{ c *fakeConn }

func (s *fakeSession) NewReceiver(context.Context, link.ReceiverOptions) (link.ReceiverLink, error) {
	select {
	case <-s.c.done:
		return nil, lostErr()
	default:
	}
	if s.c.attachFn != nil {
		return nil, s.c.attachFn()
	}
	return nil, nil
}
func (s *fakeSession) NewSender(context.Context, link.SenderOptions) (link.SenderLink, error) {
	return nil, nil
}
func (s *fakeSession) Close(context.Context) error { return nil }

func lostErr() error {
	return &errorpolicy.Error{Condition: errorpolicy.CondConnectionLost, Scope: errorpolicy.ScopeConn, Class: errorpolicy.RecoverConn}
}

// dialer hands out numbered fake connections and counts dials.
type dialer struct {
	mu    sync.Mutex
	conns []*fakeConn
	delay time.Duration
	fail  error
}

func (d *dialer) dial(context.Context) (link.Conn, error) {
	time.Sleep(d.delay)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	c := newFake(len(d.conns) + 1)
	d.conns = append(d.conns, c)
	return c, nil
}

func (d *dialer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

func TestLinksFailingTogetherCauseOneReconnect(t *testing.T) {
	first := newFake(0)
	d := &dialer{delay: 20 * time.Millisecond}
	c := New(first, d.dial, nil)
	ctx := context.Background()
	var sessions []link.Session
	for range 8 {
		s, err := c.NewSession(ctx, link.SessionOptions{})
		require.NoError(t, err)
		sessions = append(sessions, s)
	}
	assert.EqualValues(t, 8, first.sessions.Load())

	first.fail()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.NewReceiver(ctx, link.ReceiverOptions{})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, d.count(), "one reconnect for all the links")
	assert.EqualValues(t, 2, c.Revision())
	assert.EqualValues(t, 8, d.conns[0].sessions.Load(), "each session began again on the new connection")
	assert.NoError(t, c.Err())
}

func TestAttachOnAConnectionThatDiedUnnoticedReconnectsOnce(t *testing.T) {
	first := newFake(0)
	first.attachFn = lostErr // the connection is gone, but Done is not closed yet
	d := &dialer{}
	c := New(first, d.dial, nil)
	s, err := c.NewSession(context.Background(), link.SessionOptions{})
	require.NoError(t, err)
	_, err = s.NewReceiver(context.Background(), link.ReceiverOptions{})
	require.NoError(t, err, "retired the connection and attached on a new one")
	assert.Equal(t, 1, d.count())
}

func TestReconnectFailureIsReturnedAndRetriedByTheNextCaller(t *testing.T) {
	first := newFake(0)
	refused := errorpolicy.New(errorpolicy.CondDialFailed, "refused", nil)
	d := &dialer{fail: refused}
	c := New(first, d.dial, nil)
	s, err := c.NewSession(context.Background(), link.SessionOptions{})
	require.NoError(t, err)
	first.fail()
	_, err = s.NewReceiver(context.Background(), link.ReceiverOptions{})
	require.ErrorIs(t, err, errorpolicy.ErrDialFailed)
	assert.ErrorIs(t, c.Err(), errorpolicy.ErrConnectionLost, "Err tells why the last connection ended")

	d.mu.Lock()
	d.fail = nil
	d.mu.Unlock()
	_, err = s.NewReceiver(context.Background(), link.ReceiverOptions{})
	require.NoError(t, err)
	assert.NoError(t, c.Err())
}

func TestClosedConnDoesNotReconnect(t *testing.T) {
	first := newFake(0)
	d := &dialer{}
	c := New(first, d.dial, nil)
	s, err := c.NewSession(context.Background(), link.SessionOptions{})
	require.NoError(t, err)
	require.NoError(t, c.Close(context.Background()))
	select {
	case <-c.Done():
	default:
		t.Fatal("Done is closed by Close")
	}
	_, err = s.NewReceiver(context.Background(), link.ReceiverOptions{})
	require.ErrorIs(t, err, errorpolicy.ErrClosed)
	assert.Zero(t, d.count())
}

func TestWaitingForAReconnectHonoursTheContext(t *testing.T) {
	first := newFake(0)
	block := make(chan struct{})
	c := New(first, func(ctx context.Context) (link.Conn, error) {
		<-block
		return newFake(1), nil
	}, nil)
	first.fail()
	go func() { _, _, _ = c.current(context.Background()) }() // the dialer, stuck
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err := c.current(ctx)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	close(block)
}
