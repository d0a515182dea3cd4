// Package recovery keeps a connection usable across failures: it implements the
// driver contract (link.Conn, link.Session) over a driver connection that it
// replaces when it dies.
//
// One Conn owns the current driver connection and its revision number. Nothing
// reconnects eagerly: when a link owner (a receiver or sender that lost its link)
// attaches again, the session asks the Conn for the current connection; if that
// one has ended, exactly one caller dials a new one while the others wait for
// it, so links failing together cause one reconnect. Sessions notice the new
// revision and begin a new driver session on it, so sessions and links are
// re-created lazily, by the owners that need them, under their own retry policy.
package recovery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// Dialer opens a new driver connection.
type Dialer func(ctx context.Context) (link.Conn, error)

// Conn is a link.Conn that reconnects on demand.
type Conn struct {
	dial Dialer
	log  *slog.Logger

	mu      sync.Mutex
	cur     link.Conn  // nil once it failed and before a new one is dialed
	rev     uint64     // revision of cur; grows by one per connection
	dialing *dialRound // non-nil while one caller dials
	lastErr error      // why the previous connection ended
	closed  bool

	done     chan struct{} // closed by Close
	closeErr error
	retiring sync.WaitGroup // closes of retired connections, which Close waits for
}

var _ link.Conn = (*Conn)(nil)

// dialRound is one dial that concurrent callers share: done closes when it
// ends, and err (written before) says how.
type dialRound struct {
	done chan struct{}
	err  error
}

// New returns a Conn that starts with first and dials replacements with dial.
func New(first link.Conn, dial Dialer, log *slog.Logger) *Conn {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Conn{dial: dial, log: log, cur: first, rev: 1, done: make(chan struct{})}
}

// current returns a live connection and its revision, dialing a new one if the
// last has ended. Concurrent callers share one dial.
func (c *Conn) current(ctx context.Context) (link.Conn, uint64, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, 0, closedErr()
		}
		if c.cur != nil && !ended(c.cur) {
			conn, rev := c.cur, c.rev
			c.mu.Unlock()
			return conn, rev, nil
		}
		if c.cur != nil { // ended on its own: note why, once
			c.retire(c.rev)
		}
		if round := c.dialing; round != nil {
			c.mu.Unlock()
			select {
			case <-round.done:
				if round.err != nil { // one failed dial answers everyone who waited for it
					return nil, 0, round.err
				}
				continue
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
		}
		round := &dialRound{done: make(chan struct{})}
		c.dialing = round
		c.mu.Unlock()

		start := time.Now()
		conn, err := c.dial(ctx)

		c.mu.Lock()
		c.dialing = nil
		round.err = err
		close(round.done)
		if err != nil {
			c.mu.Unlock()
			c.log.Debug("reconnecting failed", "err", err)
			return nil, 0, err
		}
		if c.closed {
			c.mu.Unlock()
			_ = conn.Close(ctx)
			return nil, 0, closedErr()
		}
		c.cur = conn
		c.rev++
		rev := c.rev
		c.mu.Unlock()
		c.log.Info("reconnected", "revision", rev, "after", time.Since(start))
		return conn, rev, nil
	}
}

// retire drops the connection of revision rev, if it is still the current one.
// Callers hold c.mu.
func (c *Conn) retire(rev uint64) {
	if rev != c.rev || c.cur == nil {
		return
	}
	old := c.cur
	c.cur = nil
	c.lastErr = old.Err()
	c.retiring.Add(1)
	go func() { // a failed connection usually closes at once; never block the caller
		defer c.retiring.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = old.Close(ctx)
	}()
	c.log.Debug("connection retired", "revision", rev, "err", c.lastErr)
}

// failed reports that an operation on the connection of revision rev failed
// with a connection-scoped error: the next caller reconnects. Failures reported
// for an older revision are ignored, so many links failing together cause one
// reconnect.
func (c *Conn) failed(rev uint64) {
	c.mu.Lock()
	c.retire(rev)
	c.mu.Unlock()
}

// Current returns the driver connection in use, dialing a new one if the last
// has ended, for callers that need the driver's own API.
func (c *Conn) Current(ctx context.Context) (link.Conn, error) {
	conn, _, err := c.current(ctx)
	return conn, err
}

// Revision is the current connection's revision: 1 for the first, one more for
// each reconnect.
func (c *Conn) Revision() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rev
}

// NewSession returns a session that begins its driver session lazily, and again
// on each new connection.
func (c *Conn) NewSession(ctx context.Context, o link.SessionOptions) (link.Session, error) {
	s := &session{conn: c, opts: o}
	// Begin now, so that a session on a broken connection fails where the caller
	// expects it to.
	if _, _, err := s.wire(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Done is closed when Close is called; a failed connection is replaced, not done.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is nil while the connection is usable or has been closed cleanly, and
// otherwise why the last connection ended (a new one is dialed on demand).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil {
		return c.cur.Err()
	}
	if c.closed {
		return nil
	}
	return c.lastErr
}

// Close closes the current connection; no new one is dialed afterwards.
func (c *Conn) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		select {
		case <-c.done:
			return c.closeErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.closed = true
	cur := c.cur
	c.cur = nil
	c.mu.Unlock()
	var err error
	if cur != nil {
		err = cur.Close(ctx)
		var e *errorpolicy.Error
		if errors.As(err, &e) && e.Scope == errorpolicy.ScopeConn && !e.Remote {
			err = nil // it had already failed; closing it is not an error
		}
	}
	c.retiring.Wait() // each bounded by a second
	c.closeErr = err
	close(c.done)
	return err
}

func ended(c link.Conn) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

func closedErr() error {
	return errorpolicy.New(errorpolicy.CondClosed, "connection is closed", nil)
}
