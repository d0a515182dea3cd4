package amqptest

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Relay is a TCP relay on loopback that stands between a client and a real
// broker and breaks the path on command: reset every connection, add latency,
// or go silent (a half-open connection: the sockets stay open and nothing
// passes). Connections made after a fault pass normally.
//
//	relay := amqptest.NewRelay(t, "127.0.0.1:5672")
//	url := "amqp://guest:guest@" + relay.Addr()
//	…
//	relay.ResetConnections()
type Relay struct {
	target string
	ln     net.Listener

	mu      sync.Mutex
	pipes   map[*pipe]struct{}
	latency time.Duration
	closed  bool
	wg      sync.WaitGroup
}

// pipe is one relayed connection: the client's socket and the broker's.
type pipe struct {
	client, broker net.Conn
	silent         chan struct{} // closed when the pipe goes silent
	once           sync.Once
}

// NewRelay starts a relay to target (host:port) on 127.0.0.1 and closes it when
// the test ends.
func NewRelay(t TB, target string) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("amqptest: relay: " + err.Error()) // as httptest does: loopback should always listen
	}
	r := &Relay{target: target, ln: ln, pipes: map[*pipe]struct{}{}}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.Close)
	return r
}

// Addr is the relay's host:port, to put in a URL in place of the broker's.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// Connections is how many connections the relay is carrying.
func (r *Relay) Connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pipes)
}

// ResetConnections aborts every relayed connection with a TCP reset, on both
// sides, and returns how many it reset.
func (r *Relay) ResetConnections() int {
	r.mu.Lock()
	pipes := r.takeAll()
	r.mu.Unlock()
	for _, p := range pipes {
		p.reset()
	}
	return len(pipes)
}

// Silence makes every current connection half-open: nothing passes either way
// and no side hears of it, as when a peer vanishes without a FIN. Only the
// client's idle timeout can notice. New connections pass normally.
func (r *Relay) Silence() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range r.pipes {
		p.once.Do(func() { close(p.silent) })
	}
	return len(r.pipes)
}

// SetLatency delays every chunk of bytes relayed from now on by d, in both
// directions; 0 removes the delay.
func (r *Relay) SetLatency(d time.Duration) {
	r.mu.Lock()
	r.latency = d
	r.mu.Unlock()
}

func (r *Relay) delay() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latency
}

// Close stops the relay and resets every connection it carries.
func (r *Relay) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	pipes := r.takeAll()
	r.mu.Unlock()
	_ = r.ln.Close()
	for _, p := range pipes {
		p.reset()
	}
	r.wg.Wait()
}

// takeAll removes every pipe from the set. Callers hold r.mu.
func (r *Relay) takeAll() []*pipe {
	out := make([]*pipe, 0, len(r.pipes))
	for p := range r.pipes {
		out = append(out, p)
		delete(r.pipes, p)
	}
	return out
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.DialTimeout("tcp", r.target, 5*time.Second)
		if err != nil {
			resetConn(c)
			continue
		}
		p := &pipe{client: c, broker: b, silent: make(chan struct{})}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			p.reset()
			return
		}
		r.pipes[p] = struct{}{}
		r.wg.Add(2)
		r.mu.Unlock()
		go r.copy(p, p.broker, p.client)
		go r.copy(p, p.client, p.broker)
	}
}

// copy relays from src to dst until either side ends, holding bytes back while
// the pipe is silent.
func (r *Relay) copy(p *pipe, dst, src net.Conn) {
	defer r.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := r.delay(); d > 0 {
				time.Sleep(d)
			}
			select {
			case <-p.silent:
				continue // swallowed: the far side hears nothing
			default:
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			// One side ended: end both (AMQP has no use for half-closed
			// sockets), with a FIN when it ended cleanly, else a reset.
			r.forget(p)
			if errors.Is(err, io.EOF) {
				_ = p.client.Close()
				_ = p.broker.Close()
			} else {
				p.reset()
			}
			return
		}
	}
}

func (r *Relay) forget(p *pipe) {
	r.mu.Lock()
	delete(r.pipes, p)
	r.mu.Unlock()
}

// reset aborts both sockets with an RST instead of a FIN.
func (p *pipe) reset() {
	resetConn(p.client)
	resetConn(p.broker)
}

func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
