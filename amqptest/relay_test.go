package amqptest_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
)

// dialRelay connects raw go-amqp to srv through a new relay.
func dialRelay(t *testing.T, srv *amqptest.Server, o *amqp.ConnOptions) (*amqptest.Relay, *amqp.Conn, *amqp.Session) {
	t.Helper()
	relay := amqptest.NewRelay(t, srv.Addr().String())
	ctx := testCtx(t)
	c, err := amqp.Dial(ctx, "amqp://"+relay.Addr(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.NewSession(ctx, nil)
	require.NoError(t, err)
	return relay, c, s
}

func TestRelayCarriesTraffic(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	relay, _, s := dialRelay(t, srv, nil)
	sendN(t, s, "q", 5)
	assert.Equal(t, 5, info(t, srv, "q").Ready)
	assert.Equal(t, 1, relay.Connections())
}

func TestRelayResetEndsTheConnectionAndLetsANewOneThrough(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	relay, c, _ := dialRelay(t, srv, nil)
	assert.Equal(t, 1, relay.ResetConnections())
	select {
	case <-c.Done():
	case <-testCtx(t).Done():
		t.Fatal("the connection did not notice the reset")
	}
	var ce *amqp.ConnError
	require.ErrorAs(t, c.Err(), &ce)
	assert.Nil(t, ce.RemoteErr, "a reset is not a close frame")

	again, err := amqp.Dial(testCtx(t), "amqp://"+relay.Addr(), nil)
	require.NoError(t, err, "new connections pass")
	require.NoError(t, again.Close())
}

func TestRelaySilenceIsNoticedOnlyByTheIdleTimeout(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	const idle = 500 * time.Millisecond
	relay, c, s := dialRelay(t, srv, &amqp.ConnOptions{IdleTimeout: idle})
	relay.Silence()
	start := time.Now()
	_, err := s.NewSender(testCtx(t), "q", nil)
	require.Error(t, err, "an attach through a silent relay cannot complete")
	select {
	case <-c.Done():
	case <-time.After(10 * idle):
		t.Fatal("the idle timeout did not end the connection")
	}
	assert.GreaterOrEqual(t, time.Since(start), idle/2, "nothing ended it but the timeout")
	_, ok := srv.Queue("q")
	assert.False(t, ok, "the attach never reached the server")
}

func TestRelayLatencyDelaysTraffic(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	relay, _, s := dialRelay(t, srv, nil)
	const delay = 50 * time.Millisecond
	relay.SetLatency(delay)
	start := time.Now()
	sendN(t, s, "q", 1)
	assert.GreaterOrEqual(t, time.Since(start), 2*delay, "attach and transfer cross the relay at least twice each way")
	relay.SetLatency(0)
}

func TestRelayToNothingResetsTheClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	relay := amqptest.NewRelay(t, addr)
	ctx, cancel := context.WithTimeout(testCtx(t), 5*time.Second)
	defer cancel()
	_, err = amqp.Dial(ctx, "amqp://"+relay.Addr(), nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, context.DeadlineExceeded), "fails at once: %v", err)
}
