package sender

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/session"
)

// Sender sends messages to one target over a link it owns. It is safe for
// concurrent use.
type Sender struct {
	opts  Options
	lopts link.SenderOptions
	sess  *session.Session
	log   *slog.Logger

	// The current link; nil after it failed, until a send attaches a new one.
	cur         atomic.Pointer[attached]
	attaching   chan struct{} // one attach at a time: a one-slot semaphore, so waiting honours ctx
	gens        uint64        // links attached so far; while holding attaching
	linkMu      sync.Mutex    // guards closedLinks, and dropping or taking cur with detaching.Add
	closedLinks bool          // Close has taken the last link: none is attached or detached after
	maxSize     atomic.Uint64
	resent      atomic.Uint64                          // messages resent after their link ended (AtLeastOnce)
	fatal       atomic.Pointer[error]                  // why no link may be attached again
	encode      func(*message.Message) ([]byte, error) // the driver's batch encoder; set by the first link
	detaching   sync.WaitGroup                         // detaches of dropped links, which Close waits for

	slots chan struct{} // one per unsettled message awaiting its outcome

	// queue carries receipts to the completer in the order they were handed to
	// the link. Every receipt in it holds a slot, so it never fills.
	mu      sync.Mutex // guards stopped and sending on queue, and closing with handing.Add
	stopped bool
	queue   chan *Receipt
	handing sync.WaitGroup // unsettled messages being handed to the link; Close waits for them

	closing      context.Context    // ended when Close begins: no new messages, and an attach under way ends
	startClosing context.CancelFunc // ends closing
	life         context.Context    // the completer's waits; ended when Close gives up
	abandon      context.CancelFunc // ends life
	completed    chan struct{}      // closed when the completer has exited

	pendingMu sync.Mutex
	pending   []*Receipt // outcomes not known when Close finished

	closeOnce sync.Once
	closeErr  error
}

// New attaches a sender link to target on sess. It returns the attach error,
// such as one matching errorpolicy.ErrNotFound.
func New(ctx context.Context, sess *session.Session, target string, o *Options) (*Sender, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	opts := o.withDefaults()
	lopts := opts.linkOptions(target)
	if err := lopts.Validate(); err != nil {
		return nil, err
	}
	l, err := sess.NewSenderLink(ctx, lopts)
	if err != nil {
		return nil, err
	}
	life, abandon := context.WithCancel(context.Background())
	closing, startClosing := context.WithCancel(context.Background())
	s := &Sender{
		attaching:    make(chan struct{}, 1),
		opts:         opts,
		lopts:        lopts,
		sess:         sess,
		log:          opts.Logger.With("link", lopts.Name, "target", target),
		slots:        make(chan struct{}, opts.MaxInFlight),
		queue:        make(chan *Receipt, opts.MaxInFlight),
		closing:      closing,
		startClosing: startClosing,
		life:         life,
		abandon:      abandon,
		completed:    make(chan struct{}),
	}
	s.install(l)
	go s.complete()
	return s, nil
}

// Name is the link name.
func (s *Sender) Name() string { return s.lopts.Name }

// Address is the target address.
func (s *Sender) Address() string { return s.lopts.Target }

// MaxMessageSize is the largest message the link accepts (the last attached
// link's, while a new one is being attached).
func (s *Sender) MaxMessageSize() uint64 { return s.maxSize.Load() }

// Resent counts messages resent on a new link after theirs ended before their
// outcome came (Options.AtLeastOnce). Each may have reached the target twice.
func (s *Sender) Resent() uint64 { return s.resent.Load() }

// InFlight is the number of unsettled messages awaiting their outcome.
func (s *Sender) InFlight() int { return len(s.slots) }

// Send sends m and waits for its outcome within ctx (see Receipt.Wait). In
// Settled mode it returns Accepted once m is written.
func (s *Sender) Send(ctx context.Context, m *message.Message) (message.Outcome, error) {
	r, err := s.SendAsync(ctx, m)
	if err != nil {
		return nil, err
	}
	return r.Wait(ctx)
}

// SendAsync hands m to the link and returns its receipt without waiting for the
// outcome. It waits, within ctx, while MaxInFlight messages await theirs. A
// message over the link's size limit fails here, before anything is sent, with
// errorpolicy.ErrMessageSizeExceeded. In Settled mode the receipt is complete at
// once, with Accepted.
func (s *Sender) SendAsync(ctx context.Context, m *message.Message) (*Receipt, error) {
	if s.opts.Mode == Settled {
		return s.sendSettled(ctx, m)
	}
	return s.sendUnsettled(ctx, &Receipt{msg: m})
}

// sendUnsettled takes a slot in the window, hands r's message (or batch) to the
// link and queues r for the completer.
func (s *Sender) sendUnsettled(ctx context.Context, r *Receipt) (*Receipt, error) {
	select {
	case s.slots <- struct{}{}:
	default:
		select {
		case s.slots <- struct{}{}:
		case <-s.closing.Done():
			return nil, closedErr()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	if s.isClosing() {
		s.mu.Unlock()
		<-s.slots
		return nil, closedErr()
	}
	s.handing.Add(1) // before Close's closing: Close waits for this hand-over
	s.mu.Unlock()
	defer s.handing.Done()
	wire, gen, err := s.handOver(ctx, r.msg, false, r.batch)
	if err != nil {
		<-s.slots
		return nil, err
	}
	r.wire, r.gen = wire, gen
	if s.opts.Timeout > 0 {
		r.sent = time.Now()
	}
	s.mu.Lock()
	if s.stopped { // Close gave up on outcomes while this message went out
		s.mu.Unlock()
		s.conclude(r, nil, unknown("the sender closed before the peer reported the outcome", nil))
		return r, nil
	}
	s.queue <- r
	s.mu.Unlock()
	return r, nil
}

// SendSettled sends m pre-settled: there is no outcome, and a message lost on
// the way is never reported. It needs Settled or Mixed mode.
func (s *Sender) SendSettled(ctx context.Context, m *message.Message) error {
	if s.opts.Mode == Unsettled {
		return errorpolicy.InvalidOption("sender: SendSettled needs Mode Settled or Mixed")
	}
	_, err := s.sendSettled(ctx, m)
	return err
}

func (s *Sender) sendSettled(ctx context.Context, m *message.Message) (*Receipt, error) {
	select {
	case <-s.closing.Done():
		return nil, closedErr()
	default:
	}
	if _, _, err := s.handOver(ctx, m, true, nil); err != nil {
		return nil, err
	}
	return completed(m, message.Accepted{}), nil
}

// complete is the completer: one goroutine per sender that awaits outcomes in
// the order messages were handed to the link, completes their receipts and
// frees their slots. It ends when Close has stopped the queue and it is empty.
func (s *Sender) complete() {
	defer close(s.completed)
	for r := range s.queue {
		o, err := s.awaitResending(r)
		s.conclude(r, o, err)
	}
}

// conclude ends r's time in the window with its outcome o, or err: the link's
// receipt and a batch's encoding are let go of (a caller keeping many receipts
// keeps less memory), r joins Pending if Close is under way and the outcome
// unknown, its slot is freed and then r completes, so that whoever sees the
// outcome sees the window's room too.
func (s *Sender) conclude(r *Receipt, o message.Outcome, err error) {
	r.wire, r.batch = nil, nil
	if err != nil && s.isClosing() {
		s.addPending(r)
	}
	<-s.slots
	r.finish(o, err)
}

func (s *Sender) await(r *Receipt) (message.Outcome, error) {
	ctx := s.life
	if s.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(s.life, r.sent.Add(s.opts.Timeout))
		defer cancel()
	}
	o, err := r.wire.Wait(ctx)
	switch {
	case err == nil:
		return o, nil
	case s.life.Err() != nil:
		return nil, unknown("the sender closed before the peer reported the outcome", nil)
	case ctx.Err() != nil:
		return nil, errorpolicy.New(errorpolicy.CondTimeout,
			fmt.Sprintf("no outcome within %v; the outcome is unknown", s.opts.Timeout), ctx.Err())
	}
	return nil, err // the link ended first: the driver's outcome-unknown error
}

func (s *Sender) isClosing() bool {
	select {
	case <-s.closing.Done():
		return true
	default:
		return false
	}
}

func (s *Sender) addPending(r *Receipt) {
	s.pendingMu.Lock()
	s.pending = append(s.pending, r)
	s.pendingMu.Unlock()
}

// Pending returns the receipts of the messages whose outcome was still unknown
// when Close finished (Close gave up waiting, or the link ended first). Their
// messages may or may not have reached the target; resending them is the
// caller's choice.
func (s *Sender) Pending() []*Receipt {
	s.pendingMu.Lock()
	defer s.pendingMu.Unlock()
	return append([]*Receipt(nil), s.pending...)
}

// Close stops accepting messages, waits within ctx for the outcomes of those in
// flight, and detaches the link. When ctx ends first, the receipts still
// waiting complete with errorpolicy.ErrOutcomeUnknown and Pending returns them;
// Close then returns an error matching errorpolicy.ErrOutcomeUnknown that says
// how many. A second Close returns the first one's result.
func (s *Sender) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Sender) close(ctx context.Context) error {
	s.mu.Lock()
	s.startClosing() // also ends an attach under way
	s.mu.Unlock()
	// Messages past the closing check are on their way to the link: their
	// receipts join the queue before it closes, to be awaited like the rest.
	handed := make(chan struct{})
	go func() { // ends with the last hand-over, each bounded by its caller's ctx and the link
		s.handing.Wait()
		close(handed)
	}()
	select {
	case <-handed:
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.stopped = true
	close(s.queue)
	s.mu.Unlock()

	select {
	case <-s.completed:
	case <-ctx.Done():
		s.abandon()
		<-s.completed // each remaining wait now returns at once
	}
	s.abandon()

	detach, cancel := ctx, context.CancelFunc(func() {})
	if ctx.Err() != nil { // the caller's time is up: a short grace for the detach
		detach, cancel = context.WithTimeout(context.WithoutCancel(ctx), closeWait)
	}
	defer cancel()
	s.linkMu.Lock()
	s.closedLinks = true
	a := s.cur.Swap(nil)
	s.linkMu.Unlock()
	if a != nil {
		if err := a.link.Close(detach); err != nil {
			s.log.Debug("detaching the sender link failed", "err", err)
		}
	}
	s.detaching.Wait() // each bounded by closeWait
	if n := len(s.Pending()); n > 0 {
		s.log.Warn("sender closed with outcomes unknown", "messages", n)
		return unknown(fmt.Sprintf("%d messages' outcomes are unknown; see Pending", n), ctx.Err())
	}
	return nil
}

// closeWait bounds the detaches when the caller's context has already ended.
const closeWait = 5 * time.Second

func closedErr() error {
	return errorpolicy.New(errorpolicy.CondClosed, "sender is closed", nil)
}

func unknown(description string, cause error) error {
	return errorpolicy.New(errorpolicy.CondOutcomeUnknown, description, cause)
}
