package amqp091

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/amqplink/amqplink/sasl"
)

// Options configures a connection. Pass nil to accept every default; a zero field
// means the default documented on it.
type Options struct {
	// SASL is the authentication mechanism: sasl.Plain, sasl.AMQPlain or
	// sasl.External. Default: PLAIN with the URL's user info, or guest/guest
	// (RabbitMQ's own default) when the URL has none.
	SASL sasl.Mechanism

	// TLSConfig configures TLS for amqps:// URLs. It is cloned. The certificate
	// chain and name are verified against the system roots and the host actually
	// dialled (also sent as SNI) unless the config says otherwise. Setting it with
	// an amqp:// URL is an error. Default: verify against the system roots.
	TLSConfig *tls.Config

	// FailoverURLs are tried in order after the URL given to Dial, on each dial,
	// when the ones before them cannot be reached (refused, unreachable, TLS
	// failure). A URL given to Dial may also list hosts itself, separated by ';'
	// (amqp://h1;amqp://h2). Credentials are never tried elsewhere after a refusal.
	FailoverURLs []string

	// VirtualHost is the virtual host to open. Default: the URL's path, or "/".
	VirtualHost string

	// Heartbeat is the interval of the keep-alive frames the library sends and
	// expects; the broker may ask for a shorter one. Default: 10 s.
	Heartbeat time.Duration

	// ChannelMax caps the channels (sessions) on the connection. Default: 2047,
	// RabbitMQ's own default; the broker may lower it.
	ChannelMax uint16

	// FrameMax caps the frame size. Default: 131072, RabbitMQ's own default.
	FrameMax int

	// ConnectionName is shown in RabbitMQ's management UI and logs. Default:
	// "amqplink".
	ConnectionName string

	// Properties are extra client properties sent to the broker.
	Properties map[string]any

	// NoWriteCoalescing writes every frame the way amqp091-go does by itself: each
	// publish, ack or other command flushed with its own system call. By default
	// commands written in a burst (a publish per SendAsync, an ack per settled
	// delivery) are gathered into fewer writes by a flusher goroutine, with no
	// timer and so no added wait: see the benchmarks in the README for the gain.
	// The flusher holds at most 1 MiB; a write beyond it waits, and a failed
	// write is reported by the next one (or the connection's end).
	NoWriteCoalescing bool

	// Logger receives connection-level events. Default: slog.Default().
	Logger *slog.Logger

	// Topology, if set, is replayed by every Dial with these options once the
	// handshake is done and before Dial returns: the exchanges, queues and
	// bindings declared through it are declared again on the new connection, in
	// the order first declared. amqplink's recovery layer re-dials with the same
	// options, so a connection that replaces a failed one has its topology back
	// before any receiver re-attaches; the receivers then restore their
	// consumers and prefetch (basic.qos) themselves. A server-named queue comes
	// back with a new name (see Topology.OnQueueRenamed). A declaration the
	// broker refuses fails the Dial with its error, connection-scoped, naming the
	// declaration. Default: none, nothing is replayed.
	Topology *Topology
}

// Defaults used when the corresponding Options field is zero.
const (
	DefaultHeartbeat      = 10 * time.Second
	DefaultChannelMax     = 2047
	DefaultFrameMax       = 131072
	DefaultConnectionName = "amqplink"
)
