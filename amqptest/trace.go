package amqptest

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Frame is one frame the server read or wrote, as Options.Trace and
// Server.Trace see it.
type Frame struct {
	// Time is when the server read or was about to write it, on the real
	// clock (inside testing/synctest, the bubble's); FastForward is not
	// counted.
	Time time.Time
	// Conn is the connection: 1 for the first the server served, and so on.
	Conn int
	// Sent is true for a frame the server wrote, false for one it read.
	Sent    bool
	Channel uint16
	// Performative is the frame's body on one line, its name and key fields:
	// "attach(name=x handle=0 role=receiver source=orders …)", "empty" for a
	// heartbeat, "header(amqp)" and "header(sasl)" for protocol headers. SASL
	// credentials are left out.
	Performative string
	// Payload is the size in bytes of what follows the performative: a
	// transfer's share of a message.
	Payload int
}

// String is the frame on one line: connection, direction (C->S: read from
// the client), channel, performative and payload size.
func (f Frame) String() string {
	dir := "C->S"
	if f.Sent {
		dir = "S->C"
	}
	s := fmt.Sprintf("c%d %s ch%d %s", f.Conn, dir, f.Channel, f.Performative)
	if f.Payload > 0 {
		s += fmt.Sprintf(" payload=%dB", f.Payload)
	}
	return s
}

// tracer passes frames to Options.Trace and keeps the last TraceLast of them.
// A server with neither has no tracer, so tracing off costs a nil check.
type tracer struct {
	start time.Time

	mu      sync.Mutex // serialises f, so it need not be safe for concurrent use
	f       func(Frame)
	ring    []Frame // the last frames; next is where the following one goes
	next    int
	dropped int // frames overwritten in ring
}

func newTracer(f func(Frame), last int) *tracer {
	if f == nil && last <= 0 {
		return nil
	}
	t := &tracer{start: time.Now(), f: f}
	if last > 0 {
		t.ring = make([]Frame, 0, last)
	}
	return t
}

// protoHeader stands for a protocol header in the trace; sasl says which.
type protoHeader struct{ sasl bool }

// record traces one frame; body is a decoded performative, nil for an empty
// frame, a protoHeader, or the error that kept it from decoding.
func (t *tracer) record(conn int, sent bool, channel uint16, body any, payload int) {
	f := Frame{Time: time.Now(), Conn: conn, Sent: sent, Channel: channel, Performative: describe(body), Payload: payload}
	t.mu.Lock()
	defer t.mu.Unlock()
	if cap(t.ring) > 0 {
		if len(t.ring) < cap(t.ring) {
			t.ring = append(t.ring, f)
		} else {
			t.ring[t.next] = f
			t.dropped++
		}
		t.next = (t.next + 1) % cap(t.ring)
	}
	if t.f != nil {
		t.f(f)
	}
}

// Trace returns the last Options.TraceLast frames the server read and wrote,
// one line each, oldest first, with the time since the server started: print
// it when a test fails to see what went over the wire.
func (s *Server) Trace() string {
	t := s.trace
	if t == nil || cap(t.ring) == 0 {
		return "amqptest: no frames kept; set Options.TraceLast\n"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	if t.dropped > 0 {
		fmt.Fprintf(&b, "… %d earlier frames not kept\n", t.dropped)
	}
	for i := range t.ring {
		f := t.ring[(t.next+i)%len(t.ring)]
		fmt.Fprintf(&b, "%12s %s\n", "+"+f.Time.Sub(t.start).Round(time.Microsecond).String(), f)
	}
	return b.String()
}

// logTraceIfFailed prints the kept frames into the log of a failed test.
func (s *Server) logTraceIfFailed(t TB) {
	ft, ok := t.(interface {
		Failed() bool
		Logf(format string, args ...any)
	})
	if !ok || s.trace == nil || cap(s.trace.ring) == 0 || !ft.Failed() {
		return
	}
	ft.Logf("amqptest: the last frames (%s):\n%s", s.URL(), s.Trace())
}
