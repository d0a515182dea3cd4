package coalesce_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/amqplink/amqplink/internal/coalesce"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair returns both ends of a loopback TCP connection.
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server = <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// countingConn counts the writes that reach the wrapped connection and makes
// each one slow, as a busy network would.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	delay  time.Duration
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	time.Sleep(c.delay)
	return c.Conn.Write(p)
}

func (c *countingConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

func TestBurstArrivesWholeInOrderInFewerWrites(t *testing.T) {
	client, server := pair(t)
	inner := &countingConn{Conn: client, delay: time.Millisecond}
	c := coalesce.New(inner)

	const frames = 2000
	var want bytes.Buffer
	for i := range frames {
		frame := []byte{byte(i), byte(i >> 8), 0xAB, 0xCD}
		want.Write(frame)
		n, err := c.Write(frame)
		require.NoError(t, err)
		require.Equal(t, len(frame), n)
	}
	got := make([]byte, want.Len())
	_, err := io.ReadFull(server, got)
	require.NoError(t, err)
	assert.Equal(t, want.Bytes(), got, "every byte, in order")
	assert.Less(t, inner.count(), frames/10, "frames written while a write was in progress leave together")
	require.NoError(t, c.Close())
}

func TestLoneWriteLeavesWithoutWaitingForMore(t *testing.T) {
	client, server := pair(t)
	c := coalesce.New(client)
	defer c.Close()
	_, err := c.Write([]byte("ping"))
	require.NoError(t, err)
	require.NoError(t, server.SetReadDeadline(time.Now().Add(5*time.Second)))
	got := make([]byte, 4)
	_, err = io.ReadFull(server, got)
	require.NoError(t, err, "no timer holds a lone frame back")
	assert.Equal(t, "ping", string(got))
}

func TestCloseFlushesWhatIsPending(t *testing.T) {
	client, server := pair(t)
	c := coalesce.New(client)
	payload := bytes.Repeat([]byte("x"), 256<<10)
	for i := 0; i < len(payload); i += 1024 {
		_, err := c.Write(payload[i : i+1024])
		require.NoError(t, err)
	}
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(server)
		read <- b
	}()
	require.NoError(t, c.Close())
	assert.Equal(t, payload, <-read, "Close writes everything before closing")

	_, err := c.Write([]byte("late"))
	assert.ErrorIs(t, err, net.ErrClosed)
	assert.ErrorIs(t, c.Close(), net.ErrClosed, "a second Close fails as net.Conn's does")
}

func TestWriteErrorIsReportedByLaterWrites(t *testing.T) {
	client, server := pair(t)
	require.NoError(t, server.(*net.TCPConn).SetLinger(0))
	c := coalesce.New(client)
	defer c.Close()
	server.Close() // a reset: the peer's writes fail soon
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for err == nil && time.Now().Before(deadline) {
		_, err = c.Write(make([]byte, 4096))
		time.Sleep(time.Millisecond)
	}
	require.Error(t, err, "the failure of an earlier write is not lost")
	_, again := c.Write([]byte("x"))
	assert.Equal(t, err, again, "it sticks")
}

// stuckConn never completes a write until it is closed.
type stuckConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *stuckConn) Write(p []byte) (int, error) {
	<-c.closed
	return 0, net.ErrClosed
}

func (c *stuckConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func TestPendingIsBoundedAndCloseEndsAStuckWrite(t *testing.T) {
	client, _ := pair(t)
	c := coalesce.New(&stuckConn{Conn: client, closed: make(chan struct{})})
	_, err := c.Write(make([]byte, 10)) // taken by the flusher, which gets stuck
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond)
	_, err = c.Write(make([]byte, coalesce.MaxPending)) // pending was empty: accepted
	require.NoError(t, err)

	blocked := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("over the bound"))
		blocked <- err
	}()
	select {
	case err := <-blocked:
		t.Fatalf("a write beyond MaxPending returned at once: %v", err)
	case <-time.After(50 * time.Millisecond):
	}

	start := time.Now()
	err = c.Close()
	assert.Less(t, time.Since(start), 10*time.Second, "Close does not wait for a stuck peer forever")
	assert.True(t, err == nil || errors.Is(err, net.ErrClosed), "Close: %v", err)
	assert.ErrorIs(t, <-blocked, net.ErrClosed, "the blocked write is released by Close")
}

func TestAPastWriteDeadlineEndsAStuckWriteAtOnce(t *testing.T) {
	client, server := pair(t)
	defer server.Close() // never reads
	c := coalesce.New(client)
	defer c.Close()
	failed := make(chan error, 1)
	go func() { // fills the socket's buffers, then MaxPending, then waits for room
		chunk := make([]byte, 256<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				failed <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the flusher is stuck in a write by now
	require.NoError(t, c.SetWriteDeadline(time.Unix(1, 0)))
	select {
	case err := <-failed:
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("a past write deadline left the flusher stuck in its write")
	}
}

// tlsLike is a connection that reports a TLS state, as *tls.Conn does.
type tlsLike struct{ net.Conn }

func (tlsLike) ConnectionState() tls.ConnectionState {
	return tls.ConnectionState{HandshakeComplete: true, ServerName: "broker.example"}
}

func TestConnectionStateIsTheWrappedConnections(t *testing.T) {
	client, server := pair(t)
	defer server.Close()
	c := coalesce.New(tlsLike{client})
	defer c.Close()
	state := c.ConnectionState()
	assert.True(t, state.HandshakeComplete)
	assert.Equal(t, "broker.example", state.ServerName)

	plain := coalesce.New(server)
	defer plain.Close()
	assert.Equal(t, tls.ConnectionState{}, plain.ConnectionState(), "not a TLS connection")
}
