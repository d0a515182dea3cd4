package amqp10

import (
	"context"
	"errors"
	"sync"
	"time"

	amqp "github.com/Azure/go-amqp"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// session implements link.Session over one go-amqp session at a time.
//
// On a peer with the nonClosingDetach quirk, closing the last link on the session
// ends the wire session (the only prompt way to be rid of the link), and the next
// attach begins a new one. The same happens after the peer ends the session, as
// RabbitMQ does on every refused attach: the logical session stays usable.
type session struct {
	conn *Conn
	opts link.SessionOptions

	mu     sync.Mutex
	wire   *amqp.Session // nil until needed again after an end
	links  int           // links attached or attaching on wire
	closed bool
}

var _ link.Session = (*session)(nil)

// acquire returns the wire session for a new link, beginning one if needed, and
// counts the link so a concurrent close does not end the session under it.
func (s *session) acquire(ctx context.Context) (*amqp.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errorpolicy.New(errorpolicy.CondClosed, "session is closed", nil)
	}
	if s.wire == nil {
		w, err := s.conn.wire.NewSession(ctx, &amqp.SessionOptions{MaxLinks: s.opts.MaxLinks})
		if err != nil {
			return nil, translate(err, errorpolicy.ScopeSession)
		}
		s.wire, s.links = w, 0
	}
	s.links++
	return s.wire, nil
}

// attachFailed undoes acquire's count. When the peer ended the session as it
// refused the attach (RabbitMQ 3.x always does), the session is ended here too and
// the next attach begins a new one.
func (s *session) attachFailed(ctx context.Context, w *amqp.Session, err error) {
	var e *errorpolicy.Error
	refused := errors.As(err, &e) && (s.conn.quirks.nonClosingDetach || e.Scope >= errorpolicy.ScopeSession)
	s.mu.Lock()
	if s.wire != w {
		s.mu.Unlock()
		return
	}
	s.links--
	if !refused {
		s.mu.Unlock()
		return
	}
	s.wire, s.links = nil, 0
	s.mu.Unlock()
	_ = endWire(ctx, w) // the peer has usually ended it already
}

// linkFailed notes that a link on w ended with err. When the session ended with
// it (RabbitMQ 3.10 crashes the session process after answering a drain), the
// next attach begins a new session instead of failing on the dead one.
func (s *session) linkFailed(w *amqp.Session, err error) {
	var e *errorpolicy.Error
	if !errors.As(err, &e) || e.Scope < errorpolicy.ScopeSession {
		return
	}
	s.mu.Lock()
	if s.wire == w {
		s.wire, s.links = nil, 0
	}
	s.mu.Unlock()
}

// closeLink closes one link attached on w.
func (s *session) closeLink(ctx context.Context, w *amqp.Session, closeWire func(context.Context) error) error {
	if !s.conn.quirks.nonClosingDetach {
		err := closeWire(ctx)
		s.mu.Lock()
		if s.wire == w {
			s.links--
		}
		s.mu.Unlock()
		return translate(err, errorpolicy.ScopeLink)
	}
	// Send the detach but do not wait for the closing answer that never comes.
	fired, cancel := context.WithCancel(ctx)
	cancel()
	_ = closeWire(fired)

	s.mu.Lock()
	if s.wire != w {
		s.mu.Unlock()
		return nil // the session already ended, and the link with it
	}
	s.links--
	if s.links > 0 {
		s.mu.Unlock()
		return nil // reaped when the last link on the session closes
	}
	s.wire = nil
	s.mu.Unlock()
	endCtx, cancel := context.WithTimeout(ctx, endGrace)
	defer cancel()
	err := endWire(endCtx, w)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil // the link is gone; go-amqp waits for the end's answer in the background
	}
	return err
}

// endGrace bounds how long closing the last link waits for the peer to answer the
// end of its session on a nonClosingDetach peer. The link is gone once its detach
// is sent; RabbitMQ 3.10 now and then never answers that end (seen in CI after a
// broker restart), and the caller should not wait out its whole deadline for it.
const endGrace = 3 * time.Second

// Close ends the session and with it every link on it.
func (s *session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	w := s.wire
	s.wire = nil
	s.mu.Unlock()
	if w == nil {
		return nil
	}
	return endWire(ctx, w)
}

func endWire(ctx context.Context, w *amqp.Session) error {
	err := w.Close(ctx)
	var sessErr *amqp.SessionError
	if errors.As(err, &sessErr) && sessErr.RemoteErr == nil {
		// Already ended (by the peer, or by a failed attach); nothing left to do.
		return nil
	}
	return translate(err, errorpolicy.ScopeSession)
}
