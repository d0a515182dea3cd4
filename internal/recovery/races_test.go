package recovery

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// slowCloseConn answers Close only when ctx ends (a peer that never answers).
type slowCloseConn struct{ *fakeConn }

func (c slowCloseConn) Close(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

// A second Close honours its own context, not the first one's.
func TestASecondCloseHonoursItsOwnContext(t *testing.T) {
	c := New(slowCloseConn{newFake(0)}, (&dialer{}).dial, nil)
	first, cancelFirst := context.WithCancel(context.Background())
	defer cancelFirst()
	go func() { _ = c.Close(first) }()
	time.Sleep(20 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	returned := make(chan struct{})
	go func() { _ = c.Close(ctx); close(returned) }()
	select {
	case <-returned:
	case <-time.After(time.Second):
		cancelFirst()
		<-returned
		t.Fatal("second Close ignored its 50ms context and waited for the first Close")
	}
}

// blockingSessionConn's NewSession waits for its context (a half-dead peer).
type blockingSessionConn struct{ *fakeConn }

func (c blockingSessionConn) NewSession(ctx context.Context, o link.SessionOptions) (link.Session, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Closing a session does not wait for another goroutine's session begin on a
// new connection whose peer is slow to answer.
func TestSessionCloseDoesNotWaitForABeginUnderWay(t *testing.T) {
	first := newFake(0)
	var mu sync.Mutex
	c := New(first, func(context.Context) (link.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		return blockingSessionConn{newFake(1)}, nil
	}, nil)
	s, err := c.NewSession(context.Background(), link.SessionOptions{})
	require.NoError(t, err)
	first.fail()

	attachCtx, cancelAttach := context.WithTimeout(context.Background(), 3*time.Second) // receiver uses 30 s
	defer cancelAttach()
	go func() { _, _ = s.NewReceiver(attachCtx, link.ReceiverOptions{}) }()
	time.Sleep(50 * time.Millisecond) // the attach is now inside conn.NewSession

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = s.Close(ctx)
	assert.Less(t, time.Since(start), time.Second, "session Close waited %v for a begin on another goroutine", time.Since(start))
	cancelAttach()
}

// Links failing together while the broker is down share one failed dial: each
// waiter gets its error (and backs off by its policy) instead of dialing again
// at once.
func TestAFailedDialAnswersEveryoneWhoWaitedForIt(t *testing.T) {
	first := newFake(0)
	refused := errorpolicy.New(errorpolicy.CondDialFailed, "refused", nil)
	d := &dialer{fail: refused, delay: 30 * time.Millisecond}
	c := New(first, d.dial, nil)
	var calls sync.WaitGroup
	var n int
	var nmu sync.Mutex
	orig := c.dial
	c.dial = func(ctx context.Context) (link.Conn, error) {
		nmu.Lock()
		n++
		nmu.Unlock()
		return orig(ctx)
	}
	var sessions []link.Session
	for range 8 {
		s, err := c.NewSession(context.Background(), link.SessionOptions{})
		require.NoError(t, err)
		sessions = append(sessions, s)
	}
	first.fail()
	for _, s := range sessions {
		calls.Add(1)
		go func() {
			defer calls.Done()
			_, err := s.NewReceiver(context.Background(), link.ReceiverOptions{})
			assert.ErrorIs(t, err, errorpolicy.ErrDialFailed)
		}()
	}
	calls.Wait()
	assert.Equal(t, 1, n, "8 links failing together dialed a down broker %d times back to back", n)
}
