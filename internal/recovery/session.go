package recovery

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// session is a link.Session that follows its Conn's revisions: it begins a new
// driver session on each new connection, when a link is next attached.
type session struct {
	conn *Conn
	opts link.SessionOptions

	mu        sync.Mutex
	cur       link.Session
	rev       uint64        // the connection revision cur was begun on
	beginning chan struct{} // non-nil while a driver session is being begun; closed when done
	closed    bool
}

// wire returns the driver session for the current connection, beginning one
// when the connection changed since the last. One begin runs at a time, without
// the lock, so Close never waits for a peer slow to answer it.
func (s *session) wire(ctx context.Context) (link.Session, uint64, error) {
	for {
		conn, rev, err := s.conn.current(ctx)
		if err != nil {
			return nil, 0, err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, 0, sessionClosedErr()
		}
		if s.cur != nil && s.rev >= rev {
			cur, curRev := s.cur, s.rev
			s.mu.Unlock()
			if curRev == rev {
				return cur, rev, nil
			}
			continue // conn is older than the session's: never go back to it
		}
		if b := s.beginning; b != nil {
			s.mu.Unlock()
			select {
			case <-b:
				continue
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
		}
		b := make(chan struct{})
		s.beginning = b
		s.mu.Unlock()
		// The old driver session died with its connection; nothing to close.
		w, err := conn.NewSession(ctx, s.opts)
		s.mu.Lock()
		s.beginning = nil
		close(b)
		switch {
		case err != nil:
			s.mu.Unlock()
			if connScoped(err) {
				s.conn.failed(rev)
			}
			return nil, 0, err
		case s.closed: // Close ran meanwhile: this one is nobody's
			s.mu.Unlock()
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeWait)
			defer cancel()
			_ = w.Close(cctx)
			return nil, 0, sessionClosedErr()
		}
		s.cur, s.rev = w, rev
		s.mu.Unlock()
		return w, rev, nil
	}
}

// sessionClosedErr is the error of an attach on a closed session.
func sessionClosedErr() error {
	return errorpolicy.New(errorpolicy.CondClosed, "session is closed", nil)
}

// attach runs one attach on the current driver session. When it fails because
// the connection has ended (the caller saw its link fail before the connection
// was reported gone), the connection is retired and the attach tried once more
// on a new one, so that a link recovers in one attempt.
func attach[L any](ctx context.Context, s *session, open func(link.Session) (L, error)) (L, error) {
	var zero L
	for try := 0; ; try++ {
		w, rev, err := s.wire(ctx)
		if err != nil {
			return zero, err
		}
		l, err := open(w)
		if err == nil {
			return l, nil
		}
		if !connScoped(err) || try > 0 {
			return zero, err
		}
		s.conn.failed(rev)
	}
}

// NewReceiver attaches a receiver link on the current connection.
func (s *session) NewReceiver(ctx context.Context, o link.ReceiverOptions) (link.ReceiverLink, error) {
	return attach(ctx, s, func(w link.Session) (link.ReceiverLink, error) { return w.NewReceiver(ctx, o) })
}

// NewSender attaches a sender link on the current connection.
func (s *session) NewSender(ctx context.Context, o link.SenderOptions) (link.SenderLink, error) {
	return attach(ctx, s, func(w link.Session) (link.SenderLink, error) { return w.NewSender(ctx, o) })
}

// Close ends the current driver session, if its connection still lives.
func (s *session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	w, rev := s.cur, s.rev
	s.cur = nil
	s.mu.Unlock()
	if w == nil || rev != s.conn.Revision() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, closeWait)
	defer cancel()
	err := w.Close(ctx)
	if connScoped(err) {
		return nil // the connection went first, and the session with it
	}
	return err
}

// closeWait bounds ending a session whose peer may be gone.
const closeWait = 5 * time.Second

// connScoped reports an error that ended the whole connection.
func connScoped(err error) bool {
	var e *errorpolicy.Error
	return errors.As(err, &e) && e.Scope == errorpolicy.ScopeConn
}
