package amqptest_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
)

// Over the in-memory pipe, inside a testing/synctest bubble, the clock is
// fake: these tests wait out minutes of silence in no real time, exactly.

// pipeConn connects go-amqp to srv over a pipe.
func pipeConn(t *testing.T, srv *amqptest.Server, o *amqp.ConnOptions) *amqp.Conn {
	t.Helper()
	c, err := amqp.NewConn(context.Background(), srv.Pipe(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestPipeHeartbeatsKeepAnIdleConnectionAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := amqptest.NewTestServer(t, &amqptest.Options{PipeOnly: true})
		c := pipeConn(t, srv, &amqp.ConnOptions{IdleTimeout: time.Minute})
		start := time.Now()
		time.Sleep(10 * time.Minute) // ten idle timeouts' worth
		assert.Equal(t, 10*time.Minute, time.Since(start))

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := c.NewSession(ctx, nil)
		require.NoError(t, err, "the server's heartbeats kept the connection up")
		snd, err := s.NewSender(ctx, "q", nil)
		require.NoError(t, err)
		require.NoError(t, snd.Send(ctx, amqp.NewMessage([]byte("still here")), nil))
		assert.Equal(t, 1, info(t, srv, "q").Ready)
	})
}

func TestPipeSilentServerTripsTheIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := amqptest.NewTestServer(t, &amqptest.Options{PipeOnly: true})
		c := pipeConn(t, srv, &amqp.ConnOptions{IdleTimeout: time.Minute})
		srv.DelayFrames(time.Hour) // not even a heartbeat for an hour
		start := time.Now()
		<-c.Done()
		assert.Equal(t, time.Minute, time.Since(start), "after exactly the idle timeout")
		var connErr *amqp.ConnError
		require.ErrorAs(t, c.Err(), &connErr)
		assert.ErrorContains(t, c.Err(), "i/o timeout")
	})
}

func TestCloseEndsPipeConnections(t *testing.T) {
	srv := amqptest.NewServer(&amqptest.Options{PipeOnly: true})
	assert.Equal(t, "pipe", srv.Addr().Network())
	assert.Equal(t, "amqp://amqptest", srv.URL())
	c := pipeConn(t, srv, nil)
	srv.Close()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not see the server close")
	}

	_, err := srv.Dial(context.Background())
	require.Error(t, err, "a closed server takes no connections")
	p := srv.Pipe()
	defer p.Close()
	_, err = p.Write([]byte("AMQP\x00\x01\x00\x00"))
	assert.True(t, errors.Is(err, io.ErrClosedPipe) || errors.Is(err, io.EOF), "%v", err)
}

func TestDialHonoursItsContext(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{PipeOnly: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := srv.Dial(ctx)
	require.ErrorIs(t, err, context.Canceled)
}
