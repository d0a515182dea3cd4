package amqplink

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/amqplink/amqplink/amqp091"
	"github.com/amqplink/amqplink/amqp10"
	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/amqpurl"
	"github.com/amqplink/amqplink/internal/recovery"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/session"
)

// Protocol selects the wire protocol. Both families use amqp:// and amqps:// URLs,
// so the scheme cannot choose.
type Protocol uint8

const (
	// AMQP10 is AMQP 1.0, the default.
	AMQP10 Protocol = iota
	// AMQP091 is AMQP 0-9-1, RabbitMQ's native protocol (package amqp091).
	AMQP091
)

func (p Protocol) String() string {
	switch p {
	case AMQP10:
		return "AMQP 1.0"
	case AMQP091:
		return "AMQP 0-9-1"
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// Options configures Dial. Pass nil for the defaults.
type Options struct {
	// Protocol is the wire protocol. Default: AMQP10.
	Protocol Protocol

	// AMQP10 configures the AMQP 1.0 driver (SASL, TLS, timeouts, …).
	// Default: the driver's defaults.
	AMQP10 *amqp10.Options

	// AMQP091 configures the AMQP 0-9-1 driver (SASL, TLS, heartbeat, failover
	// hosts, …). Default: the driver's defaults.
	AMQP091 *amqp091.Options

	// NoRecovery keeps the client on its first connection: when it fails, every
	// session and link on it fails for good. By default a failed connection is
	// replaced when a receiver or sender next attaches a link (each under its
	// own errorpolicy.Policy), and sessions begin again on the new connection.
	NoRecovery bool

	// TokenProvider turns on claims-based security (Azure Service Bus and Event
	// Hubs style): before each link attaches, and after each reconnect, a token
	// for the link's audience (<scheme>://<host>/<address>) is put on the $cbs
	// node, and refreshed before it expires. The connection itself uses SASL
	// ANONYMOUS (give the URL no user). Default: none.
	TokenProvider cbs.TokenProvider
	// CBS tunes the token refresh (RefreshBefore, Policy). Default: cbs's
	// defaults; its Audience defaults to the URL's scheme and host.
	CBS *cbs.Options

	// Logger receives the client's recovery events: reconnects at info, failed
	// attempts at debug. Default: none.
	Logger *slog.Logger
}

// Client is a connection to a broker. It is safe for concurrent use.
type Client struct {
	conn  link.Conn
	proto Protocol
}

// Dial connects to the broker at url with the chosen protocol, bounded by ctx.
// Errors are described on amqp10.Dial and amqp091.Dial. The first connection is made here, so a
// bad URL or refused credentials fail at once; later connections are made on
// demand after a failure (see Options.NoRecovery).
func Dial(ctx context.Context, url string, o *Options) (*Client, error) {
	if o == nil {
		o = &Options{}
	}
	var dial func(ctx context.Context) (link.Conn, error)
	switch o.Protocol {
	case AMQP10:
		dial = func(ctx context.Context) (link.Conn, error) { return amqp10.Dial(ctx, url, o.AMQP10) }
	case AMQP091:
		if o.TokenProvider != nil {
			return nil, errorpolicy.InvalidOption("amqplink: claims-based security (TokenProvider) is AMQP 1.0 only")
		}
		dial = func(ctx context.Context) (link.Conn, error) { return amqp091.Dial(ctx, url, o.AMQP091) }
	default:
		return nil, errorpolicy.InvalidOption(fmt.Sprintf("amqplink: unknown %s", o.Protocol))
	}
	c, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	conn := c
	if !o.NoRecovery {
		conn = recovery.New(c, dial, o.Logger)
	}
	if o.TokenProvider != nil {
		if conn, err = withCBS(conn, url, o); err != nil {
			_ = c.Close(ctx)
			return nil, err
		}
	}
	return &Client{conn: conn, proto: o.Protocol}, nil
}

// NewSession begins a session that owns the links opened through it.
func (c *Client) NewSession(ctx context.Context, o *session.Options) (*session.Session, error) {
	return session.New(ctx, c.conn, o)
}

// Conn returns the driver's connection, for layers that work on the link contract.
func (c *Client) Conn() link.Conn { return c.conn }

// AMQP091 returns the client's AMQP 0-9-1 connection, for what only that
// protocol has: topology (amqp091.Topology), basic.get (amqp091.Get) and
// transactions (amqp091.Conn.Tx). With recovery it is the connection in use now,
// dialed anew, bounded by ctx, if the last one has ended; after a
// connection-scoped error, ask again. A client that speaks AMQP 1.0 gets
// errorpolicy.ErrNotSupported.
func (c *Client) AMQP091(ctx context.Context) (*amqp091.Conn, error) {
	if c.proto != AMQP091 {
		return nil, errorpolicy.New(errorpolicy.CondNotSupported, "amqplink: the client speaks "+c.proto.String()+", not AMQP 0-9-1", nil)
	}
	conn := c.conn
	if r, ok := conn.(*recovery.Conn); ok {
		cur, err := r.Current(ctx)
		if err != nil {
			return nil, err
		}
		conn = cur
	}
	ac, ok := conn.(*amqp091.Conn)
	if !ok {
		return nil, errorpolicy.New(errorpolicy.CondNotSupported, fmt.Sprintf("amqplink: the connection is a %T, not an AMQP 0-9-1 one", conn), nil)
	}
	return ac, nil
}

// Done is closed when the client is closed, or, with Options.NoRecovery, when
// its connection has ended.
func (c *Client) Done() <-chan struct{} { return c.conn.Done() }

// Err reports why the (latest) connection ended; nil while it lives or after
// Close. With recovery, a new connection is dialed when a link next needs one.
func (c *Client) Err() error { return c.conn.Err() }

// Close closes the connection and everything on it, waiting at most until ctx ends.
func (c *Client) Close(ctx context.Context) error { return c.conn.Close(ctx) }

// withCBS wraps conn so that links are authorized on $cbs first.
func withCBS(conn link.Conn, rawURL string, o *Options) (link.Conn, error) {
	var co cbs.Options
	if o.CBS != nil {
		co = *o.CBS
	}
	if co.Audience == "" {
		u, err := amqpurl.Parse(rawURL)
		if err != nil {
			return nil, err
		}
		host := u.HostPort()
		if !u.PortGiven {
			host = u.Host // Azure audiences name no port
		}
		co.Audience = u.Scheme + "://" + host
	}
	if co.Logger == nil {
		co.Logger = o.Logger
	}
	return cbs.NewConn(conn, o.TokenProvider, &co)
}
