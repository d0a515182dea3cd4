package amqptest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// conn is one client connection. Its reader goroutine (serve) handles every
// frame under the server's lock; its writer goroutine (write) sends what the
// handlers queued, outside the lock, so no handler ever waits on the network.
type conn struct {
	s  *Server
	nc net.Conn
	id int // numbers the connection in the trace

	// Under the server's lock.
	sessions map[uint16]*session
	maxFrame uint32 // the largest frame the client accepts
	opened   bool
	grants   map[string]*grant // tokens put on $cbs, by audience

	// The outbox, under its own lock: frames waiting for the writer.
	outMu    sync.Mutex
	out      []outFrame
	wake     chan struct{} // capacity 1
	idleTick time.Duration // heartbeat interval the client asked for; 0: none

	done     chan struct{} // closed by drop
	dropOnce sync.Once
}

// outFrame is a frame for the writer; closeAfter ends the connection once it
// is written.
type outFrame struct {
	channel    uint16
	typ        uint8
	body       any // a performative for wire.Encode; nil for a heartbeat
	payload    []byte
	closeAfter bool
}

func newConn(s *Server, nc net.Conn, id int) *conn {
	return &conn{
		s:        s,
		nc:       nc,
		id:       id,
		sessions: map[uint16]*session{},
		maxFrame: wire.MinMaxFrameSize,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
}

// send queues a frame for the writer. It never blocks.
func (c *conn) send(channel uint16, body any, payload []byte) {
	c.enqueue(outFrame{channel: channel, typ: wire.FrameAMQP, body: body, payload: payload})
}

func (c *conn) enqueue(f outFrame) {
	c.outMu.Lock()
	c.out = append(c.out, f)
	c.outMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// closeWith sends a close frame carrying err (nil: a clean close) and ends the
// connection once it is written.
func (c *conn) closeWith(err *wire.Error) {
	c.enqueue(outFrame{typ: wire.FrameAMQP, body: &wire.Close{Error: err}, closeAfter: true})
}

// drop closes the socket at once, without a close frame.
func (c *conn) drop() {
	c.dropOnce.Do(func() {
		close(c.done)
		_ = c.nc.Close()
	})
}

// serve runs the handshake and then handles frames until the connection ends;
// it then forgets the connection, returning its unsettled deliveries to their
// queues.
func (c *conn) serve() {
	defer c.s.wg.Done()
	defer func() {
		c.drop()
		c.s.mu.Lock()
		c.forget()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}()
	r := bufio.NewReaderSize(c.nc, 64<<10)
	if !c.handshake(r) {
		return
	}
	for {
		f, err := wire.ReadFrame(r, c.s.opts.MaxFrameSize)
		if err != nil {
			c.readFailed(err)
			return
		}
		if f.Body == nil {
			c.traceIn(f.Channel, nil, 0)
			continue // heartbeat
		}
		perf, err := wire.Decode(f.Body)
		if c.s.trace != nil {
			c.traceIn(f.Channel, orErr(perf, err), len(f.Payload))
		}
		if err != nil {
			c.fail(condDecodeError, err.Error())
			return
		}
		c.s.mu.Lock()
		end := c.handle(f.Channel, perf, f.Payload)
		c.s.mu.Unlock()
		if end {
			c.awaitClose()
			return
		}
	}
}

func (c *conn) readFailed(err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.Is(err, io.ErrClosedPipe):
	case errors.Is(err, wire.ErrFrameTooLarge):
		c.fail(condFramingError, err.Error())
	case errors.Is(err, wire.ErrMalformed):
		c.fail(condFramingError, err.Error())
	default:
		c.s.log.Debug("amqptest: read failed", "err", err)
	}
}

// fail closes the connection with an error and waits (briefly) for the close
// frame to leave.
func (c *conn) fail(cond wire.Symbol, description string) {
	c.s.log.Debug("amqptest: closing connection", "condition", cond, "description", description)
	c.closeWith(&wire.Error{Condition: cond, Description: description})
	c.awaitClose()
}

// awaitClose waits (briefly) for the writer to send the close frame queued by
// closeWith and end the connection, so that the socket is not closed under it.
func (c *conn) awaitClose() {
	select {
	case <-c.done:
	case <-time.After(time.Second):
	}
}

// handshake reads the protocol header(s), runs SASL when the client asks for it
// (or the server requires it) and answers the AMQP header. It reports false if
// the connection cannot go on.
func (c *conn) handshake(r *bufio.Reader) bool {
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return false
	}
	c.traceHeader(false, hdr)
	needSASL := len(c.s.opts.Users) > 0
	if bytes.Equal(hdr, wire.ProtoSASL) {
		if !c.sasl(r) {
			return false
		}
		if _, err := io.ReadFull(r, hdr); err != nil {
			return false
		}
		c.traceHeader(false, hdr)
		needSASL = false
	}
	if !bytes.Equal(hdr, wire.ProtoAMQP) || needSASL {
		// Answer with the header we would accept, then close (AMQP 1.0 §2.2).
		want := wire.ProtoAMQP
		if needSASL {
			want = wire.ProtoSASL
		}
		c.traceHeader(true, want)
		_, _ = c.nc.Write(want)
		return false
	}
	c.traceHeader(true, wire.ProtoAMQP)
	_, err := c.nc.Write(wire.ProtoAMQP)
	return err == nil
}

// sasl offers PLAIN (and ANONYMOUS when no users are configured) and checks the
// client's choice.
func (c *conn) sasl(r *bufio.Reader) bool {
	mechs := []wire.Symbol{"PLAIN"}
	if len(c.s.opts.Users) == 0 {
		mechs = append(mechs, "ANONYMOUS")
	}
	if !c.writeNow(wire.ProtoSASL, wire.FrameSASL, &wire.SASLMechanisms{Mechanisms: mechs}) {
		return false
	}
	f, err := wire.ReadFrame(r, wire.MinMaxFrameSize*8)
	if err != nil || f.Type != wire.FrameSASL {
		return false
	}
	perf, err := wire.Decode(f.Body)
	if c.s.trace != nil {
		c.traceIn(f.Channel, orErr(perf, err), len(f.Payload))
	}
	init, ok := perf.(*wire.SASLInit)
	if err != nil || !ok {
		return false
	}
	code := uint8(1) // auth failure
	switch init.Mechanism {
	case "ANONYMOUS":
		if len(c.s.opts.Users) == 0 {
			code = 0
		}
	case "PLAIN":
		// authzid NUL authcid NUL passwd
		parts := bytes.Split(init.InitialResponse, []byte{0})
		if len(parts) == 3 {
			pass, known := c.s.opts.Users[string(parts[1])]
			if (len(c.s.opts.Users) == 0) || (known && pass == string(parts[2])) {
				code = 0
			}
		}
	}
	if !c.writeNow(nil, wire.FrameSASL, &wire.SASLOutcome{Code: code}) {
		return false
	}
	return code == 0
}

// writeNow writes a header and a frame directly, during the handshake, before
// the writer has anything to send.
func (c *conn) writeNow(header []byte, typ uint8, body any) bool {
	if header != nil {
		c.traceHeader(true, header)
	}
	if c.s.trace != nil {
		c.s.trace.record(c.id, true, 0, body, 0)
	}
	buf, err := wire.AppendFrame(append([]byte(nil), header...), wire.Frame{Type: typ, Body: wire.Encode(body)})
	if err != nil {
		return false
	}
	_, err = c.nc.Write(buf)
	return err == nil
}

// write is the writer: it encodes and writes queued frames, gathering what is
// queued at once into one write, and sends heartbeats when the client asked
// for them.
func (c *conn) write() {
	defer c.s.wg.Done()
	var buf []byte
	var tick <-chan time.Time
	var ticker *time.Ticker
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	wrote := false
	for {
		select {
		case <-c.done:
			return
		case <-tick:
			if !wrote {
				c.enqueue(outFrame{typ: wire.FrameAMQP}) // heartbeat: an empty frame
			}
			wrote = false
			continue
		case <-c.wake:
		}
		if d := c.s.frameDelay(); d > 0 {
			select {
			case <-time.After(d):
			case <-c.done:
				return
			}
		}
		c.outMu.Lock()
		frames := c.out
		c.out = nil
		interval := c.idleTick
		c.outMu.Unlock()
		if interval > 0 && ticker == nil {
			ticker = time.NewTicker(interval)
			tick = ticker.C
		}
		buf = buf[:0]
		closeAfter := false
		for _, f := range frames {
			if c.s.trace != nil {
				c.s.trace.record(c.id, true, f.channel, f.body, len(f.payload))
			}
			wf := wire.Frame{Type: f.typ, Channel: f.channel, Payload: f.payload}
			if f.body != nil {
				wf.Body = wire.Encode(f.body)
			}
			var err error
			if buf, err = wire.AppendFrame(buf, wf); err != nil {
				c.s.log.Error("amqptest: encoding a frame", "err", err)
				c.drop()
				return
			}
			if f.closeAfter {
				closeAfter = true
				break
			}
		}
		if len(buf) > 0 {
			if _, err := c.nc.Write(buf); err != nil {
				c.drop()
				return
			}
			wrote = true
		}
		if closeAfter {
			c.drop()
			return
		}
	}
}

// traceIn traces a frame read from the client, if tracing is on.
func (c *conn) traceIn(channel uint16, body any, payload int) {
	if c.s.trace != nil {
		c.s.trace.record(c.id, false, channel, body, payload)
	}
}

// traceHeader traces a protocol header, if tracing is on.
func (c *conn) traceHeader(sent bool, hdr []byte) {
	if c.s.trace == nil {
		return
	}
	var body any = protoHeader{sasl: bytes.Equal(hdr, wire.ProtoSASL)}
	if !body.(protoHeader).sasl && !bytes.Equal(hdr, wire.ProtoAMQP) {
		body = fmt.Errorf("protocol header %q", hdr)
	}
	c.s.trace.record(c.id, sent, 0, body, 0)
}

// orErr is what a frame decoded to, for the trace: the performative or the error.
func orErr(perf any, err error) any {
	if err != nil {
		return err
	}
	return perf
}
