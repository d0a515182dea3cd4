package amqp10

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/link"
)

// A wire session retired (a name taken) while another link was still attaching
// on it ends when that attach fails: it has no link left.
func TestARetiredWireSessionEndsWhenItsLastAttachFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, s := sessionOnTestServer(t, ctx)

	w1, err := s.acquire(ctx, "x") // goroutine A begins attaching "x" on w1
	require.NoError(t, err)
	s.mu.Lock()
	s.takeNameLocked(w1, "y") // a lingering "y" on w1
	s.mu.Unlock()
	w2, err := s.acquire(ctx, "y") // goroutine B retires w1 and begins w2
	require.NoError(t, err)
	require.NotSame(t, w1, w2)

	// A's attach fails (context ended, or a link-scope refusal).
	s.attachFailed(ctx, w1, "x", context.DeadlineExceeded, false)

	s.mu.Lock()
	_, leaked := s.links[w1]
	s.mu.Unlock()
	require.False(t, leaked, "retired w1 has no link left but stays in s.links and is never ended")
}

// Session.Close (and a link's Close) do not wait for another caller's begin
// of a wire session on a slow peer.
func TestSessionCloseHonoursItsContextWhileABeginIsPending(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, s := sessionOnTestServer(t, ctx)
	s.mu.Lock()
	s.wire = nil // as after a retire / a session the peer ended
	s.mu.Unlock()

	srv.DelayFrames(3 * time.Second) // the peer is slow to answer begin
	defer srv.DelayFrames(0)
	go func() { _, _ = s.acquire(ctx, "x") }()
	time.Sleep(200 * time.Millisecond)

	cctx, ccancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer ccancel()
	start := time.Now()
	_ = s.Close(cctx)
	require.Less(t, time.Since(start), time.Second, "Session.Close waited for another caller's begin, past its own context")
}

// sessionOnTestServer is a logical session on a new embedded broker, closed
// with its connection when the test ends.
func sessionOnTestServer(t *testing.T, ctx context.Context) (*amqptest.Server, *session) {
	t.Helper()
	srv := amqptest.NewTestServer(t, &amqptest.Options{})
	c, err := Dial(ctx, srv.URL(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	ls, err := c.NewSession(ctx, link.SessionOptions{})
	require.NoError(t, err)
	return srv, ls.(*session)
}
