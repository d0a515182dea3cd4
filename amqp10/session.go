package amqp10

import (
	"context"
	"errors"
	"strings"
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
//
// A link closed on such a peer while other links keep its wire session open is
// never forgotten by go-amqp (the detach is not answered), so its name stays
// taken there. An attach of that name (a receiver's recovery reuses its name)
// retires the wire session for new links and begins another; a retired one ends
// when its last link closes, or with the session.
type session struct {
	conn *Conn
	opts link.SessionOptions

	mu        sync.Mutex
	wire      *amqp.Session                     // where new links attach; nil until needed again
	links     map[*amqp.Session]int             // links attached or attaching, per live wire session
	taken     map[*amqp.Session]map[string]bool // names of closed links go-amqp still holds, per wire session
	beginning chan struct{}                     // non-nil while a wire session is being begun; closed when done
	closed    bool
}

var _ link.Session = (*session)(nil)

// newSession is the logical session over w, its first wire session.
func newSession(c *Conn, o link.SessionOptions, w *amqp.Session) *session {
	return &session{conn: c, opts: o, wire: w,
		links: map[*amqp.Session]int{w: 0}, taken: map[*amqp.Session]map[string]bool{}}
}

// acquire returns the wire session for a new link named name, beginning one if
// needed, and counts the link so a concurrent close does not end the session
// under it. One begin runs at a time, without mu, so Close and closing links
// never wait for a peer slow to answer it.
func (s *session) acquire(ctx context.Context, name string) (*amqp.Session, error) {
	var idle *amqp.Session // retired here with no link left: ended before returning
	defer func() {
		if idle != nil {
			endIdle(ctx, idle)
		}
	}()
	s.mu.Lock()
	for {
		if s.closed {
			s.mu.Unlock()
			return nil, sessionClosedErr()
		}
		if s.wire != nil && s.taken[s.wire][name] {
			if w := s.retireLocked(); w != nil {
				idle = w
			}
		}
		if w := s.wire; w != nil {
			s.links[w]++
			s.mu.Unlock()
			return w, nil
		}
		if b := s.beginning; b != nil {
			s.mu.Unlock()
			select {
			case <-b:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			s.mu.Lock()
			continue
		}
		b := make(chan struct{})
		s.beginning = b
		s.mu.Unlock()
		w, err := s.conn.wire.NewSession(ctx, &amqp.SessionOptions{MaxLinks: s.opts.MaxLinks})
		s.mu.Lock()
		s.beginning = nil
		close(b)
		if err != nil {
			s.mu.Unlock()
			return nil, translate(err, errorpolicy.ScopeSession)
		}
		if s.closed { // Close ran meanwhile: this one is nobody's
			s.mu.Unlock()
			endIdle(ctx, w)
			return nil, sessionClosedErr()
		}
		s.wire, s.links[w] = w, 0
	}
}

// retireLocked stops attaching new links on the current wire session, which
// ends when its last link closes. It returns the session when no link is left
// on it, for the caller to end once it has let go of mu.
func (s *session) retireLocked() (idle *amqp.Session) {
	w := s.wire
	s.wire = nil
	if s.links[w] > 0 {
		return nil
	}
	s.forgetLocked(w)
	return w
}

// endIdle ends a wire session no link uses any more, within ctx and endGrace.
func endIdle(ctx context.Context, w *amqp.Session) {
	ctx, cancel := context.WithTimeout(ctx, endGrace)
	defer cancel()
	_ = endWire(ctx, w)
}

// forgetLocked drops w from the books. The caller holds mu.
func (s *session) forgetLocked(w *amqp.Session) {
	if s.wire == w {
		s.wire = nil
	}
	delete(s.links, w)
	delete(s.taken, w)
}

// attachFailed undoes acquire's count. When the peer ended the session as it
// refused the attach (RabbitMQ 3.x always does), the session is ended here too and
// the next attach begins a new one. When go-amqp refused because name is still
// taken on w (nameTaken), it is noted as taken there, and the caller's next
// acquire of that name retires w.
func (s *session) attachFailed(ctx context.Context, w *amqp.Session, name string, err error, nameTaken bool) {
	var e *errorpolicy.Error
	refused := errors.As(err, &e) && (s.conn.quirks.nonClosingDetach || e.Scope >= errorpolicy.ScopeSession)
	s.mu.Lock()
	if _, live := s.links[w]; !live {
		s.mu.Unlock()
		return
	}
	s.links[w]--
	if nameTaken {
		s.takeNameLocked(w, name)
	}
	retiredIdle := s.wire != w && s.links[w] == 0 // its last link was this attempt
	if !retiredIdle && (nameTaken || !refused) {
		s.mu.Unlock()
		return
	}
	s.forgetLocked(w)
	s.mu.Unlock()
	endIdle(ctx, w) // the peer has usually ended it already; RabbitMQ 3.10 may never answer
}

// takeNameLocked notes that go-amqp still holds a link named name on w. The
// caller holds mu.
func (s *session) takeNameLocked(w *amqp.Session, name string) {
	if s.taken[w] == nil {
		s.taken[w] = map[string]bool{}
	}
	s.taken[w][name] = true
}

// attach opens a link named name with open on a wire session acquire gives,
// and tries once more on a new wire session when the name is still taken on
// the current one.
func attach[L any](ctx context.Context, s *session, name string, open func(*amqp.Session) (L, error)) (L, *amqp.Session, error) {
	for retried := false; ; retried = true {
		var zero L
		w, err := s.acquire(ctx, name)
		if err != nil {
			return zero, nil, err
		}
		l, err := open(w)
		if err == nil {
			return l, w, nil
		}
		taken := !retried && nameTaken(err)
		err = translate(err, errorpolicy.ScopeLink)
		s.attachFailed(ctx, w, name, err, taken)
		if !taken {
			return zero, nil, err
		}
	}
}

// nameTaken reports whether go-amqp refused an attach because a link of that
// name is still registered on the session: it says so only in the message.
func nameTaken(err error) bool {
	return err != nil && strings.Contains(err.Error(), "already exists")
}

// linkFailed translates err, from an operation on a link attached on w, with
// scope as for translate, and returns it. When the session ended with it
// (RabbitMQ 3.10 crashes the session process after answering a drain), the next
// attach begins a new session instead of failing on the dead one. s may be nil
// (a link made by a test).
func (s *session) linkFailed(w *amqp.Session, err error, scope errorpolicy.Scope) error {
	if err == nil {
		return nil
	}
	err = translate(err, scope)
	var e *errorpolicy.Error
	if s == nil || !errors.As(err, &e) || e.Scope < errorpolicy.ScopeSession {
		return err
	}
	s.mu.Lock()
	s.forgetLocked(w)
	s.mu.Unlock()
	return err
}

// closeLink closes the link named name attached on w. On a nonClosingDetach
// peer it sends the detach without waiting for the closing answer that never
// comes, and ends w once its last link is gone: the only prompt way to be rid
// of the links go-amqp still holds.
func (s *session) closeLink(ctx context.Context, w *amqp.Session, name string, closeWire func(context.Context) error) error {
	lingering := s.conn.quirks.nonClosingDetach
	var err error
	if lingering {
		fired, cancel := context.WithCancel(ctx)
		cancel()
		_ = closeWire(fired)
	} else {
		err = translate(closeWire(ctx), errorpolicy.ScopeLink)
	}
	s.mu.Lock()
	end := s.releaseLocked(w, name, lingering)
	s.mu.Unlock()
	if !end {
		return err
	}
	if !lingering {
		endIdle(ctx, w) // a retired session: its links are gone
		return err
	}
	endCtx, cancel := context.WithTimeout(ctx, endGrace)
	defer cancel()
	err = endWire(endCtx, w)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return nil // the link is gone; go-amqp waits for the end's answer in the background
	}
	return err
}

// releaseLocked counts a closed link off w and reports whether w should end
// now: no link is left on it and it is retired, or the peer does not answer
// detaches (lingering), so ending it is how go-amqp lets go of them. A link
// that lingers on a session other links still use keeps its name taken there.
// The caller holds mu.
func (s *session) releaseLocked(w *amqp.Session, name string, lingering bool) bool {
	if _, live := s.links[w]; !live {
		return false // the session already ended, and the link with it
	}
	s.links[w]--
	if s.links[w] > 0 {
		if lingering {
			s.takeNameLocked(w, name)
		}
		return false
	}
	if s.wire == w && !lingering {
		return false
	}
	s.forgetLocked(w)
	return true
}

// endGrace bounds how long closing the last link waits for the peer to answer the
// end of its session on a nonClosingDetach peer. The link is gone once its detach
// is sent; RabbitMQ 3.10 now and then never answers that end (seen in CI after a
// broker restart), and the caller should not wait out its whole deadline for it.
const endGrace = 3 * time.Second

// Close ends the session and with it every link on it, on every wire session
// it has (the current one and any retired one still in use).
func (s *session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	wires := make([]*amqp.Session, 0, len(s.links))
	for w := range s.links {
		wires = append(wires, w)
	}
	clear(s.links)
	clear(s.taken)
	s.wire = nil
	s.mu.Unlock()
	var first error
	for _, w := range wires {
		if err := endWire(ctx, w); err != nil && first == nil {
			first = err
		}
	}
	return first
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

// sessionClosedErr is the error of an attach on a closed session.
func sessionClosedErr() error {
	return errorpolicy.New(errorpolicy.CondClosed, "session is closed", nil)
}
