package amqptest

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Options configures a Server. The zero value (or nil) gives the defaults.
type Options struct {
	// Users are the PLAIN credentials the server accepts, user name to
	// password. Default: none, and every client is let in (ANONYMOUS, or no
	// SASL at all). With users set, SASL PLAIN is required.
	Users map[string]string
	// SASKeys are the shared access keys, key name to key, that the $cbs node
	// checks SAS tokens against (put-token, type servicebus.windows.net:sastoken).
	// With keys set, a link to a queue needs a token for an audience covering it
	// (amqp://host/<queue>, or the host alone for every queue), put on $cbs by
	// the same connection; otherwise the attach is refused, and a link whose
	// token expires without a new one is detached, both with
	// amqp:unauthorized-access. Default: none, and no token is needed.
	SASKeys map[string]string
	// CheckJWT, if set, lets the $cbs node take put-token of type jwt: it
	// validates a token for an audience and returns when it expires; it runs
	// under the server's lock, so it must not call the Server. Links then
	// need a token as with SASKeys. Default: jwt tokens are refused.
	CheckJWT func(token, audience string) (expiry time.Time, err error)
	// RequireQueues refuses links to queues not made with CreateQueue, with
	// amqp:not-found. Default: queues are created on first use.
	RequireQueues bool
	// MaxFrameSize is the largest frame the server accepts. Default: 65536.
	MaxFrameSize uint32
	// MaxMessageSize is the largest message the server accepts, advertised on
	// every attach; a larger one detaches its link with
	// amqp:link:message-size-exceeded. Default: 16 MiB.
	MaxMessageSize uint64
	// LinkCredit is the credit the server keeps granted to each client sender
	// link. Default: 1000.
	LinkCredit uint32
	// Logger receives the server's events. Default: discard.
	Logger *slog.Logger
	// LockDuration is how long a consumer holds the lock on a message it has
	// not settled, on queues whose QueueOptions.LockDuration is not set
	// (queues made on first use, among them). Default: 30 s, as Service Bus.
	LockDuration time.Duration
	// PipeOnly opens no TCP listener: clients connect through Pipe or Dial
	// only. Inside a testing/synctest bubble it is required, as a goroutine
	// waiting on a real socket would keep the bubble's clock from moving; URL
	// and Addr then name no reachable address. Default: listen on 127.0.0.1.
	PipeOnly bool
	// Trace, if set, is called with every frame the server reads or writes,
	// on every connection, one call at a time. It runs on the connections'
	// goroutines, so it should be quick, and it must not call the Server.
	// Default: none, at no cost.
	Trace func(Frame)
	// TraceLast is how many of the latest frames the server keeps for
	// Server.Trace (and NewTestServer prints when the test fails). Default: 0,
	// none kept.
	TraceLast int
}

func (o *Options) withDefaults() Options {
	var d Options
	if o != nil {
		d = *o
	}
	if d.MaxFrameSize == 0 {
		d.MaxFrameSize = 65536
	}
	if d.MaxMessageSize == 0 {
		d.MaxMessageSize = 16 << 20
	}
	if d.LinkCredit == 0 {
		d.LinkCredit = 1000
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// Server is an in-process AMQP 1.0 broker listening on 127.0.0.1. Its methods
// are safe for concurrent use.
type Server struct {
	opts Options
	ln   net.Listener
	log  *slog.Logger

	// mu is the broker's one lock: queues, connections, sessions and links.
	mu     sync.Mutex
	queues map[string]*queue
	hubs   map[string]*eventHub // event hubs, by name (eventhubs.go)
	conns  map[*conn]struct{}
	faults faults
	closed bool
	connN  int     // connections ever served, numbering them for the trace
	trace  *tracer // nil when tracing is off

	clockOffset time.Duration // added to the real clock by FastForward
	timers      map[*serverTimer]struct{}

	wg sync.WaitGroup // the accept loop and every connection's goroutines
}

// NewServer starts a server on a free port of 127.0.0.1 (or on none, with
// Options.PipeOnly). Like httptest.NewServer it panics if it cannot listen.
// Close it when done.
func NewServer(o *Options) *Server {
	opts := o.withDefaults()
	s := &Server{
		opts:   opts,
		log:    opts.Logger,
		queues: map[string]*queue{},
		conns:  map[*conn]struct{}{},
		trace:  newTracer(opts.Trace, opts.TraceLast),
	}
	if opts.PipeOnly {
		return s
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("amqptest: cannot listen on 127.0.0.1: %v", err))
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return s
}

// TB is the part of testing.TB that NewTestServer uses.
type TB interface {
	Helper()
	Cleanup(func())
}

// NewTestServer starts a server that is closed when the test ends. With
// Options.TraceLast set, a failed test (t a *testing.T or *testing.B) logs the
// last frames.
func NewTestServer(t TB, o *Options) *Server {
	t.Helper()
	s := NewServer(o)
	t.Cleanup(func() {
		s.Close()
		s.logTraceIfFailed(t)
	})
	return s
}

// URL is the server's address as an amqp:// URL, with no credentials; with
// Options.PipeOnly it is amqp://amqptest, for the hostname alone.
func (s *Server) URL() string { return "amqp://" + s.Addr().String() }

// Addr is the server's listening address; with Options.PipeOnly, an address
// of network "pipe" that nothing can dial.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return pipeAddr{}
	}
	return s.ln.Addr()
}

// Close stops listening, drops every connection without a close frame, and
// waits for the server's goroutines to end.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.stopTimers()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if s.ln != nil {
		_ = s.ln.Close()
	}
	for _, c := range conns {
		c.drop()
	}
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		if !s.serveConn(nc) {
			return
		}
	}
}

// serveConn serves nc, an accepted socket or the server's end of a pipe, on
// a reader and a writer goroutine of its own (a pipe has no buffer, so reads
// and writes must not wait on each other). It reports false, closing nc, if
// the server is closed.
func (s *Server) serveConn(nc net.Conn) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return false
	}
	s.connN++
	c := newConn(s, nc, s.connN)
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	go c.serve()
	go c.write()
	return true
}
