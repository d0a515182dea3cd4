package amqp10

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	"github.com/amqplink/amqplink/sasl"
)

// Options configures a connection. Pass nil to accept every default; a zero field
// means the default documented on it.
type Options struct {
	// SASL is the authentication mechanism.
	// Default: PLAIN with the URL's user info, or ANONYMOUS when it has none.
	SASL sasl.Mechanism

	// TLSConfig configures TLS for amqps:// URLs. It is cloned. The server's
	// certificate chain and name are verified against the system roots and the
	// URL's host (also sent as SNI) unless the config says otherwise.
	// Setting it with an amqp:// URL is an error, not a silent plain-text
	// connection. Default: verify against the system roots.
	TLSConfig *tls.Config

	// Dial, if set, makes the network connection in place of a TCP one to the
	// URL's host and port: an in-memory pipe (amqptest.Server.Dial), a proxy, a
	// Unix socket. It is called again for every reconnect. The URL still gives
	// the hostname sent in open, the SASL credentials and TLS: with amqps://,
	// TLS runs over the connection Dial returns (verified against the URL's
	// host unless TLSConfig says otherwise), so a dialer never turns amqps://
	// into plain text. Its errors come back as ErrDialFailed (ctx's own error
	// as is). Default: TCP to the URL's host and port.
	Dial func(ctx context.Context) (net.Conn, error)

	// VirtualHost is the hostname sent in the AMQP open frame, which brokers use
	// to choose a virtual host or namespace (RabbitMQ 3.x: "vhost:NAME").
	// Default: the URL's path if it has one, else the URL's host.
	VirtualHost string

	// ContainerID identifies this client to the peer. Default: random.
	ContainerID string

	// IdleTimeout is how long the peer may stay silent before the connection is
	// considered dead; half of it is advertised so the peer sends heartbeats in
	// time. Default: 60 s. Negative: never time out.
	IdleTimeout time.Duration

	// MaxFrameSize is the largest frame accepted, at least 512. Default: 65536.
	MaxFrameSize uint32

	// MaxSessions caps the sessions (channels) on the connection. Default: 65535.
	MaxSessions uint16

	// Properties are sent in the open frame (product, version, …).
	Properties map[string]any

	// WriteTimeout bounds each write when the caller's context has no deadline.
	// Default: 30 s. Negative: no bound.
	WriteTimeout time.Duration

	// NoWriteCoalescing writes every frame with its own system call, as go-amqp
	// does by itself. By default frames written in a burst (a disposition per
	// received message, a transfer per sent one) are gathered into fewer writes
	// by a flusher goroutine, with no timer and so no added wait: see the
	// benchmarks in the README for the gain in throughput and latency.
	NoWriteCoalescing bool

	// Logger receives connection-level events. Default: slog.Default().
	Logger *slog.Logger
}

// Defaults used when the corresponding Options field is zero.
const (
	DefaultIdleTimeout  = 60 * time.Second
	DefaultMaxFrameSize = 65536
	DefaultMaxSessions  = 65535
	DefaultWriteTimeout = 30 * time.Second
)
