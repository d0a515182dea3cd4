// Package coalesce wraps a net.Conn so that frames written in a burst leave in
// fewer system calls.
//
// Protocol libraries such as go-amqp write every frame with its own Write, one
// system call each. Under load (a disposition per received message, a transfer
// per sent one) those calls dominate the client's CPU time and the peer's reads.
// A coalescing Conn copies each Write into a pending buffer and returns; one
// flusher goroutine writes everything pending in a single call. While it is in
// that call the next frames gather behind it, so a burst costs a few writes, and
// a lone frame leaves at once: there is no timer and no added delay beyond
// handing the bytes to the flusher.
package coalesce

import (
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// Conn is a net.Conn whose writes are coalesced. Reads, addresses and read
// deadlines go straight to the wrapped connection.
type Conn struct {
	net.Conn

	mu       sync.Mutex
	room     sync.Cond // signalled when pending shrinks or the flusher stops
	pending  []byte
	spare    []byte
	deadline time.Time // the latest write deadline, applied to each flush
	applied  time.Time // the write deadline set on the wrapped connection
	writing  bool      // the flusher is inside a write to the wrapped connection
	err      error     // the first write error; every later Write returns it
	closed   bool

	kick chan struct{} // capacity 1: something is pending
	done chan struct{} // closed when the flusher has exited
}

// MaxPending bounds the bytes waiting for the flusher; a Write that would go
// beyond it waits. A single larger Write is accepted when nothing is pending.
const MaxPending = 1 << 20

// closeWait bounds how long Close waits for pending bytes to leave, so a peer
// that stopped reading cannot hold Close.
const closeWait = 2 * time.Second

// New wraps c and starts its flusher, which ends when the Conn is closed or a
// write fails.
func New(c net.Conn) *Conn {
	cc := &Conn{Conn: c, kick: make(chan struct{}, 1), done: make(chan struct{})}
	cc.room.L = &cc.mu
	go cc.flush()
	return cc
}

// Write queues p for the flusher. It returns an error only when an earlier
// write failed or the Conn is closed; a failure of this write is reported by a
// later Write or by Close.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && !c.closed && len(c.pending) > 0 && len(c.pending)+len(p) > MaxPending {
		c.room.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.closed {
		return 0, net.ErrClosed
	}
	c.pending = append(c.pending, p...)
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return len(p), nil
}

// ConnectionState returns the wrapped connection's TLS state, or the zero state
// when it is not a TLS connection. Libraries that report TLS details (amqp091-go
// does) look for this method on the connection they were given.
func (c *Conn) ConnectionState() tls.ConnectionState {
	if tc, ok := c.Conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// SetWriteDeadline records t; the flusher applies the latest deadline to each
// write it makes. A deadline earlier than the one the write in progress has
// (none counts as latest) applies to that write at once: a peer that stopped
// reading fails the write, and with it any Write waiting for room, by then, as
// on the wrapped connection itself. A later one waits for the next write: go-amqp
// sets one per frame, and moving the wrapped connection's deadline each time
// would cost a timer update per frame.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	if c.writing && !t.IsZero() && (c.applied.IsZero() || t.Before(c.applied)) {
		c.applied = t
		return c.Conn.SetWriteDeadline(t)
	}
	return nil
}

// SetDeadline sets the read deadline on the wrapped connection and records the
// write deadline.
func (c *Conn) SetDeadline(t time.Time) error {
	_ = c.SetWriteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

// Close writes what is pending (for at most two seconds) and closes the wrapped
// connection. It returns the first write error, if any.
func (c *Conn) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.room.Broadcast()
	c.mu.Unlock()
	if !already {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C: // the flusher is stuck in a write; closing below ends it
	}
	err := c.Conn.Close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil && !already {
		return c.err
	}
	return err
}

// flush is the flusher: it writes everything pending in one call, until the
// Conn is closed (after a last flush) or a write fails.
func (c *Conn) flush() {
	defer close(c.done)
	defer func() { // nothing more will be written: let go of the buffers
		c.mu.Lock()
		c.pending, c.spare = nil, nil
		c.mu.Unlock()
	}()
	for range c.kick {
		for {
			c.mu.Lock()
			if c.err != nil || len(c.pending) == 0 {
				closed := c.closed
				c.mu.Unlock()
				if closed {
					return
				}
				break
			}
			out := c.pending
			c.pending = c.spare[:0]
			if !c.deadline.Equal(c.applied) {
				_ = c.Conn.SetWriteDeadline(c.deadline)
				c.applied = c.deadline
			}
			c.writing = true
			c.room.Broadcast()
			c.mu.Unlock()

			_, err := c.Conn.Write(out)

			c.mu.Lock()
			c.writing = false
			c.spare = out[:0]
			if err != nil && c.err == nil {
				c.err = err
				c.room.Broadcast()
			}
			c.mu.Unlock()
		}
	}
}
