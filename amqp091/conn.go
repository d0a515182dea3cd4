package amqp091

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/amqpurl"
	"github.com/amqplink/amqplink/internal/coalesce"
	"github.com/amqplink/amqplink/internal/netdial"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/sasl"
)

// Conn is an AMQP 0-9-1 connection. It implements link.Conn and is safe for
// concurrent use. amqp091-go's own automatic recovery stays off: reconnecting is
// the job of amqplink's recovery layer, and two layers must never race.
type Conn struct {
	wire *amqp.Connection
	url  string // redacted, for logs
	log  *slog.Logger

	done    chan struct{} // closed when the connection has ended
	err     error         // why; set before done closes
	closing chan struct{} // closed by Close, so its end is not a failure

	blockedMu sync.Mutex
	blocked   []chan<- Blocked

	closeOnce sync.Once
	closeDone chan struct{}
	closeErr  error
}

var _ link.Conn = (*Conn)(nil)

// Blocked is a broker's connection.blocked (Active true, with its reason) or
// connection.unblocked (Active false) notification: while blocked, RabbitMQ reads
// nothing from the connection, so publishes wait (with coalesced writes, once
// 1 MiB waits to be written; settled sends return before that).
type Blocked struct {
	Active bool
	Reason string
}

// Dial connects to the broker at rawURL (amqp:// or amqps://; several URLs may be
// separated by ';', and Options.FailoverURLs adds more) and completes the
// handshake (TLS, SASL, tune, open), all bounded by ctx. URLs are tried in order;
// the next is tried only when one cannot be reached.
//
// Errors are *errorpolicy.Error: ErrInvalidURL (errors.As to
// *errorpolicy.URLError names the part), ErrInvalidOption, ErrDialFailed
// (wrapping the network error), ErrTLSVerify, ErrUnauthorized for refused
// credentials or virtual host; or ctx's error. With Options.Topology, the
// topology is replayed before Dial returns, and a declaration the broker
// refuses fails the Dial with its error (see Options.Topology).
func Dial(ctx context.Context, rawURL string, o *Options) (*Conn, error) {
	if o == nil {
		o = &Options{}
	}
	var urls []*amqpurl.URL
	for _, raw := range append(strings.Split(rawURL, ";"), o.FailoverURLs...) {
		u, err := amqpurl.Parse(strings.TrimSpace(raw))
		if err != nil {
			return nil, err
		}
		if !u.TLS() && o.TLSConfig != nil {
			return nil, errorpolicy.InvalidOption("amqp091: TLSConfig is set but a URL scheme is amqp://; use amqps://")
		}
		urls = append(urls, u)
	}
	var err error
	for _, u := range urls {
		var c *Conn
		if c, err = dialOne(ctx, u, o); err == nil {
			if err = o.Topology.replay(ctx, c); err != nil {
				closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = c.Close(closeCtx)
				cancel()
				return nil, err
			}
			return c, nil
		}
		if !errors.Is(err, errorpolicy.ErrDialFailed) && !errors.Is(err, errorpolicy.ErrTLSVerify) {
			return nil, err // refused credentials or a bad option: the next host would say the same
		}
	}
	return nil, err
}

func dialOne(ctx context.Context, u *amqpurl.URL, o *Options) (*Conn, error) {
	cfg, err := wireConfig(u, o)
	if err != nil {
		return nil, err
	}
	netConn, err := netdial.Dial(ctx, u, o.TLSConfig)
	if err != nil {
		return nil, err
	}
	if !o.NoWriteCoalescing {
		netConn = coalesce.New(netConn)
	}
	// amqp091-go's handshake takes no context: a deadline bounds it, and ending
	// ctx ends it at once. Open clears the deadline when the handshake is done.
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	_ = netConn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = netConn.SetDeadline(time.Unix(1, 0)) })
	wire, err := amqp.Open(netConn, cfg)
	if !stop() && err == nil {
		// ctx ended just as the handshake finished: the past deadline has
		// reached, or is about to reach, the connection Open returned.
		_ = wire.Close()
		return nil, ctx.Err()
	}
	if err != nil {
		_ = netConn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, handshakeError(err)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	c := &Conn{
		wire:      wire,
		url:       u.String(),
		log:       logger.With(slog.String("url", u.String())),
		done:      make(chan struct{}),
		closing:   make(chan struct{}),
		closeDone: make(chan struct{}),
	}
	closes := wire.NotifyClose(make(chan *amqp.Error, 1))
	blocked := wire.NotifyBlocked(make(chan amqp.Blocking, 4))
	go c.watch(closes, blocked)
	c.log.Debug("amqp091: connected", slog.Any("server", wire.Properties["product"]))
	return c, nil
}

func wireConfig(u *amqpurl.URL, o *Options) (amqp.Config, error) {
	mech := o.SASL
	if mech == nil {
		user, pass := "guest", "guest"
		if u.HasUserInfo {
			user, pass = u.Username, u.Password()
		}
		mech = sasl.Plain{Username: user, Password: pass}
	}
	var auth amqp.Authentication
	switch m := mech.(type) {
	case sasl.Plain:
		auth = &amqp.PlainAuth{Username: m.Username, Password: m.Password}
	case sasl.AMQPlain:
		auth = &amqp.AMQPlainAuth{Username: m.Username, Password: m.Password}
	case sasl.External:
		auth = &amqp.ExternalAuth{}
	default:
		return amqp.Config{}, errorpolicy.New(errorpolicy.CondNotSupported, "amqp091: SASL mechanism "+mech.Name()+" is not available over AMQP 0-9-1", nil)
	}
	vhost := o.VirtualHost
	if vhost == "" {
		vhost = u.Path
	}
	if vhost == "" {
		vhost = "/"
	}
	props := amqp.Table{}
	maps.Copy(props, o.Properties)
	name := o.ConnectionName
	if name == "" {
		name = DefaultConnectionName
	}
	props["connection_name"] = name
	if _, ok := props["product"]; !ok {
		props["product"] = "amqplink"
	}
	props["capabilities"] = amqp.Table{
		"connection.blocked":           true,
		"consumer_cancel_notify":       true,
		"publisher_confirms":           true,
		"basic.nack":                   true,
		"exchange_exchange_bindings":   true,
		"authentication_failure_close": true,
	}
	cfg := amqp.Config{
		SASL:       []amqp.Authentication{auth},
		Vhost:      vhost,
		ChannelMax: o.ChannelMax,
		FrameSize:  o.FrameMax,
		Heartbeat:  o.Heartbeat,
		Properties: props,
		Locale:     "en_US",
	}
	if cfg.ChannelMax == 0 {
		cfg.ChannelMax = DefaultChannelMax
	}
	if cfg.FrameSize == 0 {
		cfg.FrameSize = DefaultFrameMax
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	return cfg, nil
}

// handshakeError classifies a failed handshake.
func handshakeError(err error) error {
	if e := netdial.Error(err, "handshake"); e != nil {
		var ae *amqp.Error
		if !errors.As(err, &ae) {
			return e
		}
	}
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.AccessRefused {
		e := errorpolicy.New(errorpolicy.CondUnauthorizedAccess, ae.Reason, err)
		e.Scope, e.Remote = errorpolicy.ScopeConn, true
		return e
	}
	if errors.Is(err, amqp.ErrSASL) || errors.Is(err, amqp.ErrCredentials) || errors.Is(err, amqp.ErrVhost) {
		e := errorpolicy.New(errorpolicy.CondUnauthorizedAccess, err.Error(), err)
		e.Scope, e.Remote = errorpolicy.ScopeConn, true
		return e
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return errorpolicy.New(errorpolicy.CondDialFailed, "handshake failed", err)
	}
	return translate(err, errorpolicy.ScopeConn)
}

// watch owns the connection's notifications until it ends.
func (c *Conn) watch(closes <-chan *amqp.Error, blocked <-chan amqp.Blocking) {
	for {
		select {
		case b, ok := <-blocked:
			if !ok {
				blocked = nil
				continue
			}
			c.log.Warn("amqp091: connection blocked by the broker", "active", b.Active, "reason", b.Reason)
			c.blockedMu.Lock()
			for _, ch := range c.blocked {
				select {
				case ch <- Blocked{Active: b.Active, Reason: b.Reason}:
				default: // a listener that does not keep up misses a notification, never stalls the connection
				}
			}
			c.blockedMu.Unlock()
		case e, ok := <-closes:
			if ok && e != nil {
				c.err = translate(e, errorpolicy.ScopeConn)
			} else {
				select {
				case <-c.closing:
				default:
					c.err = errorpolicy.New(errorpolicy.CondConnectionLost, "the connection ended", nil)
				}
			}
			close(c.done)
			return
		}
	}
}

// NotifyBlocked registers ch for the broker's blocked and unblocked
// notifications. A notification ch has no room for is dropped.
func (c *Conn) NotifyBlocked(ch chan<- Blocked) {
	c.blockedMu.Lock()
	c.blocked = append(c.blocked, ch)
	c.blockedMu.Unlock()
}

// NewSession opens a session: one channel at a time, opened again when a
// channel exception closed the last one (a channel error costs one channel).
func (c *Conn) NewSession(ctx context.Context, o link.SessionOptions) (link.Session, error) {
	s := &session{conn: c}
	if _, err := s.acquire(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is nil while the connection lives or after a clean Close; otherwise the
// *errorpolicy.Error that ended it.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close closes the connection, waiting for the broker's answer at most until
// ctx ends; the connection is closed either way.
func (c *Conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		close(c.closing)
		go func() {
			defer close(c.closeDone)
			failedBefore := c.Err() != nil
			if err := c.wire.Close(); err != nil && !failedBefore && !errors.Is(err, amqp.ErrClosed) {
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

// call runs a synchronous amqp091-go method, which takes no context, and stops
// waiting for it when ctx ends. The call itself ends when the broker answers or
// its channel closes.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	return callUndo(ctx, f, nil)
}

// callUndo is call for an f whose result must not be left behind: if ctx ends
// first, undo (unless nil) gets what f makes once it returns without error (a
// channel opened for nobody is closed again).
func callUndo[T any](ctx context.Context, f func() (T, error), undo func(T)) (T, error) {
	if ctx.Done() == nil {
		return f()
	}
	type result struct {
		v   T
		err error
	}
	var mu sync.Mutex
	gaveUp := false
	ch := make(chan result, 1)
	go func() { // ends when f does
		v, err := f()
		mu.Lock()
		defer mu.Unlock()
		if gaveUp {
			if err == nil && undo != nil {
				undo(v)
			}
			return
		}
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case r := <-ch: // made just as ctx ended: use it
		return r.v, r.err
	default:
		gaveUp = true
		var zero T
		return zero, ctx.Err()
	}
}
