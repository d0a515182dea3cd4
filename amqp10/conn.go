package amqp10

import (
	"context"
	"log/slog"
	"maps"
	"sync"

	amqp "github.com/Azure/go-amqp"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/amqpurl"
	"github.com/amqplink/amqplink/internal/coalesce"
	"github.com/amqplink/amqplink/internal/netdial"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/sasl"
)

// Conn is an AMQP 1.0 connection. It implements link.Conn and is safe for
// concurrent use.
type Conn struct {
	wire   *amqp.Conn
	url    string // redacted, for logs
	quirks quirks
	log    *slog.Logger

	closeOnce sync.Once
	closeDone chan struct{}
	closeErr  error
}

var _ link.Conn = (*Conn)(nil)

// Dial connects to the broker at rawURL (amqp:// or amqps://), or through
// Options.Dial, and completes the AMQP handshake (TLS, SASL, open), all bounded
// by ctx.
//
// Errors are *errorpolicy.Error: ErrInvalidURL (errors.As to *errorpolicy.URLError
// names the part), ErrInvalidOption, ErrDialFailed (wrapping the network error, so
// errors.Is(err, syscall.ECONNREFUSED) works), ErrTLSVerify, ErrUnauthorized for
// refused credentials; or ctx's error.
func Dial(ctx context.Context, rawURL string, o *Options) (*Conn, error) {
	u, err := amqpurl.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if o == nil {
		o = &Options{}
	}
	if !u.TLS() && o.TLSConfig != nil {
		return nil, errorpolicy.InvalidOption("amqp10: TLSConfig is set but the URL scheme is amqp://; use amqps://")
	}
	if o.MaxFrameSize != 0 && o.MaxFrameSize < 512 {
		return nil, errorpolicy.InvalidOption("amqp10: MaxFrameSize must be at least 512")
	}
	mech := o.SASL
	if mech == nil {
		mech = mechanismFromURL(u)
	}
	saslType, err := saslType(mech)
	if err != nil {
		return nil, err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}

	netConn, err := netdial.DialVia(ctx, u, o.TLSConfig, o.Dial)
	if err != nil {
		return nil, err
	}
	if !o.NoWriteCoalescing {
		netConn = coalesce.New(netConn)
	}
	wire, err := amqp.NewConn(ctx, netConn, wireConnOptions(u, o, saslType))
	if err != nil {
		// go-amqp closes netConn when the handshake fails, but not when it
		// refuses the options first (a SASL mechanism's own checks); a second
		// close is harmless.
		_ = netConn.Close()
		return nil, dialError(err, "handshake")
	}
	c := &Conn{
		wire:      wire,
		url:       u.String(),
		quirks:    detectQuirks(wire.Properties()),
		log:       logger.With(slog.String("url", u.String())),
		closeDone: make(chan struct{}),
	}
	c.log.Debug("amqp10: connected", slog.Any("peer", wire.Properties()))
	return c, nil
}

func wireConnOptions(u *amqpurl.URL, o *Options, saslType amqp.SASLType) *amqp.ConnOptions {
	host := o.VirtualHost
	if host == "" {
		host = u.Path
	}
	if host == "" {
		host = u.Host
	}
	co := &amqp.ConnOptions{
		ContainerID:  o.ContainerID,
		HostName:     host,
		IdleTimeout:  o.IdleTimeout,
		MaxFrameSize: o.MaxFrameSize,
		MaxSessions:  o.MaxSessions,
		Properties:   maps.Clone(o.Properties),
		SASLType:     saslType,
		WriteTimeout: o.WriteTimeout,
	}
	if co.IdleTimeout == 0 {
		co.IdleTimeout = DefaultIdleTimeout
	}
	if co.MaxSessions == 0 {
		co.MaxSessions = DefaultMaxSessions
	}
	return co
}

func mechanismFromURL(u *amqpurl.URL) sasl.Mechanism {
	if u.HasUserInfo {
		return sasl.Plain{Username: u.Username, Password: u.Password()}
	}
	return sasl.Anonymous{}
}

func saslType(m sasl.Mechanism) (amqp.SASLType, error) {
	switch m := m.(type) {
	case sasl.Plain:
		return amqp.SASLTypePlain(m.Username, m.Password), nil
	case sasl.Anonymous:
		return amqp.SASLTypeAnonymous(), nil
	case sasl.External:
		return amqp.SASLTypeExternal(m.Response), nil
	case sasl.XOAUTH2:
		return amqp.SASLTypeXOAUTH2(m.Username, m.Token, m.MaxFrameSizeOverride), nil
	}
	return nil, errorpolicy.New(errorpolicy.CondNotSupported, "amqp10: SASL mechanism "+m.Name()+" is not available over AMQP 1.0", nil)
}

// NewSession begins a session.
func (c *Conn) NewSession(ctx context.Context, o link.SessionOptions) (link.Session, error) {
	s, err := c.wire.NewSession(ctx, &amqp.SessionOptions{MaxLinks: o.MaxLinks})
	if err != nil {
		return nil, translate(err, errorpolicy.ScopeSession)
	}
	return newSession(c, o, s), nil
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.wire.Done() }

// Err is nil while the connection lives or after a clean Close; otherwise the
// *errorpolicy.Error that ended it.
func (c *Conn) Err() error { return translate(c.wire.Err(), errorpolicy.ScopeConn) }

// Close sends the close frame and closes the network connection. It waits for that
// at most until ctx ends; the connection is closed either way, in the background.
// Closing a connection that already failed returns nil: there is nothing to do.
func (c *Conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		// go-amqp's Close takes no context; its own write timeout bounds it.
		go func() {
			defer close(c.closeDone)
			failedBefore := c.wire.Err() != nil
			if err := c.wire.Close(); err != nil && !failedBefore {
				c.closeErr = translate(err, errorpolicy.ScopeConn)
			}
		}()
	})
	select {
	case <-c.closeDone:
		return c.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}
