package amqptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
)

// The in-memory transport: a net.Pipe whose server end is served like an
// accepted socket. It needs no port and no poller, so it works inside a
// testing/synctest bubble, where the fake clock fires idle timeouts, lock and
// token expiry at once (create the server inside the bubble, with
// Options.PipeOnly, since goroutines from outside cannot be waited on).

// Pipe connects a new in-memory client connection to the server and returns
// the client's end, ready for an AMQP client to speak over. If the server is
// closed, the connection it returns is already closed at the far end.
func (s *Server) Pipe() net.Conn {
	client, server := net.Pipe()
	s.serveConn(server)
	return newClientPipe(client)
}

// Dial is Pipe with the signature of a dialer hook, such as
// amqp10.Options.Dial: it fails if ctx is done or the server is closed.
func (s *Server) Dial(ctx context.Context) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	client, server := net.Pipe()
	if !s.serveConn(server) {
		_ = client.Close()
		return nil, &net.OpError{Op: "dial", Net: "pipe", Addr: pipeAddr{}, Err: fmt.Errorf("amqptest: the server is closed: %w", net.ErrClosed)}
	}
	return newClientPipe(client), nil
}

// pipeAddr is the address of a server with no listener.
type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "amqptest" }

// clientPipe is the client's end of a pipe, failing like a socket once it is
// closed: reads and writes pending or later get net.ErrClosed, not
// io.ErrClosedPipe. Clients (go-amqp among them) expect that error after their
// own Close and report anything else as a failed close.
type clientPipe struct {
	net.Conn
	closed atomic.Bool
}

func newClientPipe(c net.Conn) *clientPipe { return &clientPipe{Conn: c} }

func (p *clientPipe) Read(b []byte) (int, error) {
	n, err := p.Conn.Read(b)
	return n, p.closedErr("read", err)
}

func (p *clientPipe) Write(b []byte) (int, error) {
	n, err := p.Conn.Write(b)
	return n, p.closedErr("write", err)
}

func (p *clientPipe) Close() error {
	p.closed.Store(true)
	return p.Conn.Close()
}

func (p *clientPipe) closedErr(op string, err error) error {
	if errors.Is(err, io.ErrClosedPipe) && p.closed.Load() {
		return &net.OpError{Op: op, Net: "pipe", Addr: pipeAddr{}, Err: net.ErrClosed}
	}
	return err
}
