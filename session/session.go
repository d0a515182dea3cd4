package session

import (
	"context"
	"errors"
	"sync"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// Options configures a Session. Pass nil for the defaults.
type Options struct {
	// MaxLinks caps the links on the session. Default: the driver's maximum.
	MaxLinks uint32
}

// Session owns the links opened through it.
type Session struct {
	wire link.Session

	mu        sync.Mutex
	receivers map[link.ReceiverLink]struct{}
	senders   map[link.SenderLink]struct{}
	closed    bool
}

// New begins a session on conn.
func New(ctx context.Context, conn link.Conn, o *Options) (*Session, error) {
	var so link.SessionOptions
	if o != nil {
		so.MaxLinks = o.MaxLinks
	}
	w, err := conn.NewSession(ctx, so)
	if err != nil {
		return nil, err
	}
	return &Session{
		wire:      w,
		receivers: make(map[link.ReceiverLink]struct{}),
		senders:   make(map[link.SenderLink]struct{}),
	}, nil
}

// NewReceiverLink attaches a receiver link that the session owns. Most programs
// use the receiver package, which builds on it.
func (s *Session) NewReceiverLink(ctx context.Context, o link.ReceiverOptions) (link.ReceiverLink, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	l, err := s.wire.NewReceiver(ctx, o)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed { // closed while attaching
		_ = l.Close(ctx)
		return nil, closedErr()
	}
	s.receivers[l] = struct{}{}
	if d, ok := l.(link.Drainer); ok {
		return &drainingReceiver{ownedReceiver{l, s}, d}, nil
	}
	return &ownedReceiver{l, s}, nil
}

// NewSenderLink attaches a sender link that the session owns. Most programs use
// the sender package, which builds on it.
func (s *Session) NewSenderLink(ctx context.Context, o link.SenderOptions) (link.SenderLink, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	l, err := s.wire.NewSender(ctx, o)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = l.Close(ctx)
		return nil, closedErr()
	}
	s.senders[l] = struct{}{}
	if b, ok := l.(link.BatchSender); ok {
		return &batchingSender{ownedSender{l, s}, b}, nil
	}
	return &ownedSender{l, s}, nil
}

func (s *Session) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return closedErr()
	}
	return nil
}

func closedErr() error {
	return errorpolicy.New(errorpolicy.CondClosed, "session is closed", nil)
}

// Close closes every link the session owns, concurrently and each bounded by ctx,
// then ends the session. It returns the links' and the session's errors joined;
// a second Close returns nil.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	closers := make([]func(context.Context) error, 0, len(s.receivers)+len(s.senders))
	for l := range s.receivers {
		closers = append(closers, l.Close)
	}
	for l := range s.senders {
		closers = append(closers, l.Close)
	}
	s.receivers, s.senders = nil, nil
	s.mu.Unlock()

	errs := make([]error, len(closers)+1)
	var wg sync.WaitGroup
	for i, c := range closers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c(ctx)
		}()
	}
	wg.Wait()
	errs[len(closers)] = s.wire.Close(ctx)
	return errors.Join(errs...)
}

func (s *Session) forgetReceiver(l link.ReceiverLink) {
	s.mu.Lock()
	delete(s.receivers, l)
	s.mu.Unlock()
}

func (s *Session) forgetSender(l link.SenderLink) {
	s.mu.Lock()
	delete(s.senders, l)
	s.mu.Unlock()
}

// ownedReceiver removes itself from its session when closed.
type ownedReceiver struct {
	link.ReceiverLink
	sess *Session
}

func (r *ownedReceiver) Close(ctx context.Context) error {
	r.sess.forgetReceiver(r.ReceiverLink)
	return r.ReceiverLink.Close(ctx)
}

// drainingReceiver keeps the driver's optional Drainer visible through the wrapper,
// as database/sql keeps a driver's optional interfaces visible.
type drainingReceiver struct {
	ownedReceiver
	link.Drainer
}

type ownedSender struct {
	link.SenderLink
	sess *Session
}

func (s *ownedSender) Close(ctx context.Context) error {
	s.sess.forgetSender(s.SenderLink)
	return s.SenderLink.Close(ctx)
}

// batchingSender keeps the driver's optional BatchSender visible through the
// wrapper.
type batchingSender struct {
	ownedSender
	link.BatchSender
}
