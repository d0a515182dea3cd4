package cbs

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/link"
)

// DefaultRefreshBefore is how long before a token expires its refresh begins
// when Options.RefreshBefore is zero.
const DefaultRefreshBefore = 5 * time.Minute

// Options configures a negotiating Conn.
type Options struct {
	// Audience is the base of every audience: a link to address is authorized
	// with a token for Audience + "/" + address. amqplink.Dial sets it from the
	// URL ("amqps://ns.servicebus.windows.net"). Required.
	Audience string
	// RefreshBefore is how long before expiry a token is refreshed, at most half
	// of the token's remaining life (so a short-lived token is refreshed halfway).
	// Default: DefaultRefreshBefore (5 min).
	RefreshBefore time.Duration
	// Policy decides what to do when a refresh fails: retry after its backoff,
	// or give up (an auth failure is fatal: the peer then detaches the links at
	// expiry, and their owners report it). Nil: the default policy.
	Policy *errorpolicy.Policy
	// Logger receives refreshes at debug and failures at warn. Default: none.
	Logger *slog.Logger
}

// Conn wraps a connection so that every link attached through it is
// authorized first: a put-token on the $cbs node for the link's audience,
// before the first attach, after every reconnect, and again before each token
// expires, on a timer of its own (one goroutine per audience, stopped by Close).
type Conn struct {
	inner    link.Conn
	provider TokenProvider
	opts     Options
	log      *slog.Logger

	mu         sync.Mutex // guards the fields below; never held over the network
	rpc        *RPC
	rpcSess    link.Session
	grants     map[string]grant // by audience
	refreshing map[string]bool  // audiences with a refresher
	putMu      sync.Mutex       // one put-token exchange at a time

	life context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// grant is the token in force for an audience, and the $cbs link it went on:
// a token put on a connection that has since been replaced counts for nothing.
type grant struct {
	rpc    *RPC
	expiry time.Time
}

var _ link.Conn = (*Conn)(nil)

// NewConn returns inner with claims-based security.
func NewConn(inner link.Conn, p TokenProvider, o *Options) (*Conn, error) {
	if p == nil || o == nil || o.Audience == "" {
		return nil, errorpolicy.InvalidOption("cbs: NewConn needs a TokenProvider and Options.Audience")
	}
	c := &Conn{inner: inner, provider: p, opts: *o, grants: map[string]grant{}, refreshing: map[string]bool{}}
	if c.opts.RefreshBefore <= 0 {
		c.opts.RefreshBefore = DefaultRefreshBefore
	}
	c.log = o.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.life, c.stop = context.WithCancel(context.Background())
	return c, nil
}

// audience is the audience of a link to address.
func (c *Conn) audience(address string) string {
	return strings.TrimSuffix(c.opts.Audience, "/") + "/" + strings.TrimPrefix(address, "/")
}

// Authorize makes sure a valid token for the link to address is in force on
// the current connection, putting one if not, and keeps it refreshed.
func (c *Conn) Authorize(ctx context.Context, address string) error {
	aud := c.audience(address)
	c.mu.Lock()
	g, ok := c.grants[aud]
	valid := ok && g.rpc == c.rpc && g.rpc != nil && !isDone(g.rpc.Done()) && time.Until(g.expiry) > time.Second
	c.mu.Unlock()
	if valid {
		return nil
	}
	if err := c.put(ctx, aud); err != nil {
		return err
	}
	c.startRefresher(aud)
	return nil
}

// put gets a token for aud and puts it on $cbs.
func (c *Conn) put(ctx context.Context, aud string) error {
	c.putMu.Lock()
	defer c.putMu.Unlock()
	rpc, err := c.currentRPC(ctx)
	if err != nil {
		return err
	}
	tok, err := c.provider.Token(ctx, aud)
	if err != nil {
		return err
	}
	if err := putToken(ctx, rpc, aud, tok); err != nil {
		return err
	}
	c.mu.Lock()
	c.grants[aud] = grant{rpc: rpc, expiry: tok.Expiry}
	c.mu.Unlock()
	c.log.Debug("token put", "audience", aud, "expiry", tok.Expiry)
	return nil
}

// currentRPC returns the $cbs client, attaching a new one (on a new session,
// so on the current connection) when the last one's links have ended.
// Callers hold putMu.
func (c *Conn) currentRPC(ctx context.Context) (*RPC, error) {
	c.mu.Lock()
	rpc, sess := c.rpc, c.rpcSess
	c.mu.Unlock()
	if rpc != nil && !isDone(rpc.Done()) {
		return rpc, nil
	}
	if rpc != nil {
		_ = rpc.Close(ctx)
		_ = sess.Close(ctx)
	}
	sess, err := c.inner.NewSession(ctx, link.SessionOptions{})
	if err != nil {
		return nil, err
	}
	rpc, err = NewRPC(ctx, sess, "$cbs")
	if err != nil {
		_ = sess.Close(ctx)
		return nil, err
	}
	c.mu.Lock()
	c.rpc, c.rpcSess = rpc, sess
	c.mu.Unlock()
	return rpc, nil
}

// startRefresher starts the refresher of aud unless it runs.
func (c *Conn) startRefresher(aud string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refreshing[aud] || c.life.Err() != nil {
		return
	}
	c.refreshing[aud] = true
	c.wg.Add(1)
	go c.refresh(aud)
}

// refresh puts a new token for aud before each one expires, until Close or
// until the policy gives up on a failure.
func (c *Conn) refresh(aud string) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		delete(c.refreshing, aud)
		c.mu.Unlock()
	}()
	attempt := 0
	var lastErr error
	for {
		c.mu.Lock()
		expiry := c.grants[aud].expiry
		c.mu.Unlock()
		remaining := time.Until(expiry)
		wait := remaining - min(c.opts.RefreshBefore, remaining/2)
		if attempt > 0 {
			d := c.opts.Policy.Decide(lastErr, errorpolicy.Attempt{N: attempt})
			if d.Action == errorpolicy.GiveUp {
				c.log.Warn("token refresh failed; giving up", "audience", aud, "err", lastErr)
				return
			}
			wait = d.Wait
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-c.life.Done():
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.life, refreshTimeout)
		err := c.put(ctx, aud)
		cancel()
		if err != nil {
			attempt++
			lastErr = err
			c.log.Debug("token refresh failed", "audience", aud, "err", err, "attempt", attempt)
			continue
		}
		attempt = 0
	}
}

// refreshTimeout bounds one refresh.
const refreshTimeout = 30 * time.Second

// NewSession begins a session whose links are authorized before they attach.
func (c *Conn) NewSession(ctx context.Context, o link.SessionOptions) (link.Session, error) {
	s, err := c.inner.NewSession(ctx, o)
	if err != nil {
		return nil, err
	}
	return &session{Session: s, c: c}, nil
}

// Done is the wrapped connection's.
func (c *Conn) Done() <-chan struct{} { return c.inner.Done() }

// Err is the wrapped connection's.
func (c *Conn) Err() error { return c.inner.Err() }

// Close stops the refreshers, detaches the $cbs links and closes the
// connection.
func (c *Conn) Close(ctx context.Context) error {
	c.stop()
	c.wg.Wait()
	c.mu.Lock()
	rpc := c.rpc
	c.rpc = nil
	c.mu.Unlock()
	if rpc != nil {
		_ = rpc.Close(ctx)
	}
	return c.inner.Close(ctx)
}

// session authorizes each link before attaching it.
type session struct {
	link.Session
	c *Conn
}

func (s *session) NewReceiver(ctx context.Context, o link.ReceiverOptions) (link.ReceiverLink, error) {
	if err := s.c.Authorize(ctx, o.Source); err != nil {
		return nil, err
	}
	return s.Session.NewReceiver(ctx, o)
}

func (s *session) NewSender(ctx context.Context, o link.SenderOptions) (link.SenderLink, error) {
	if err := s.c.Authorize(ctx, o.Target); err != nil {
		return nil, err
	}
	return s.Session.NewSender(ctx, o)
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
