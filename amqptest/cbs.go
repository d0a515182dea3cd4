package amqptest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/amqplink/amqplink/amqptest/internal/wire"
)

// Claims-based security, as Azure Service Bus and Event Hubs do it: a client
// puts a token for an audience on the $cbs node of its connection; links to
// entities under that audience are allowed until the token expires, and then
// detached with amqp:unauthorized-access unless a new token came first.

const condUnauthorized wire.Symbol = "amqp:unauthorized-access"

// sasTokenType is the put-token type of a shared access signature.
const sasTokenType = "servicebus.windows.net:sastoken"

// grant is a token a connection put for one audience.
type grant struct {
	entity string // the audience's path: the entity it covers; "" for all
	expiry time.Time
	timer  *serverTimer
}

// requireTokens reports whether links need a token.
func (s *Server) requireTokens() bool { return len(s.opts.SASKeys) > 0 || s.opts.CheckJWT != nil }

// putToken is the $cbs node: it checks a SAS token and records it for the
// connection.
func (s *Server) putToken(c *conn, req request) (response, any) {
	accepted := &wire.Accepted{}
	if op := req.prop("operation"); op != "put-token" {
		return response{status: 400, description: fmt.Sprintf("unknown operation %q", op)}, accepted
	}
	audience := req.prop("name")
	token, ok := req.body.(string)
	if !ok || audience == "" {
		return response{status: 400, description: "put-token needs a name and a string token"}, accepted
	}
	var expiry time.Time
	var err error
	switch typ := req.prop("type"); {
	case typ == sasTokenType && len(s.opts.SASKeys) > 0:
		expiry, err = s.checkSAS(token, audience, s.now())
	case typ == "jwt" && s.opts.CheckJWT != nil:
		expiry, err = s.opts.CheckJWT(token, audience)
		if err == nil && !expiry.After(s.now()) {
			err = errors.New("the token has expired")
		}
	default:
		return response{status: 400, description: fmt.Sprintf("token type %q is not taken here", typ)}, accepted
	}
	if err != nil {
		return response{status: 401, description: err.Error()}, accepted
	}
	c.authorize(audience, expiry)
	return response{status: 202, description: "Accepted"}, accepted
}

// checkSAS validates a shared access signature for audience and returns when
// it expires.
func (s *Server) checkSAS(token, audience string, now time.Time) (time.Time, error) {
	rest, ok := strings.CutPrefix(token, "SharedAccessSignature ")
	if !ok {
		return time.Time{}, errors.New("not a SharedAccessSignature")
	}
	f, err := url.ParseQuery(rest)
	if err != nil {
		return time.Time{}, errors.New("a malformed SharedAccessSignature")
	}
	sr, sig, se, skn := f.Get("sr"), f.Get("sig"), f.Get("se"), f.Get("skn")
	key, known := s.opts.SASKeys[skn]
	if !known {
		return time.Time{}, fmt.Errorf("unknown key name %q", skn)
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(url.QueryEscape(sr) + "\n" + se))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return time.Time{}, errors.New("the signature does not match the key")
	}
	if !strings.HasPrefix(strings.ToLower(audience), strings.ToLower(sr)) {
		return time.Time{}, fmt.Errorf("the token is for %q, not %q", sr, audience)
	}
	secs, err := strconv.ParseInt(se, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("a malformed expiry")
	}
	expiry := time.Unix(secs, 0)
	if !expiry.After(now) {
		return time.Time{}, errors.New("the token has expired")
	}
	return expiry, nil
}

// entityOf is the entity an audience covers: its URL path without slashes.
func entityOf(audience string) string {
	if u, err := url.Parse(audience); err == nil && u.Host != "" {
		return strings.Trim(u.Path, "/")
	}
	return strings.Trim(audience, "/")
}

// covers reports whether a grant for entity allows links to queue name.
func covers(entity, name string) bool {
	return entity == "" || entity == name || strings.HasPrefix(name, entity+"/")
}

// authorize records a token for audience on c, replacing an earlier one, and
// arms the detach at its expiry. Callers hold the server's lock.
func (c *conn) authorize(audience string, expiry time.Time) {
	if c.grants == nil {
		c.grants = map[string]*grant{}
	}
	if old := c.grants[audience]; old != nil {
		old.timer.stop()
	}
	g := &grant{entity: entityOf(audience), expiry: expiry}
	g.timer = c.s.at(expiry, func() { c.expire(audience, g) })
	c.grants[audience] = g
}

// authorized reports whether c holds an unexpired token covering queue name.
// Callers hold the server's lock.
func (c *conn) authorized(name string, now time.Time) bool {
	for _, g := range c.grants {
		if covers(g.entity, name) && g.expiry.After(now) {
			return true
		}
	}
	return false
}

// expire ends a grant that was not renewed in time and detaches the links it
// no longer covers. It runs on the server's clock, under the server's lock.
func (c *conn) expire(audience string, g *grant) {
	if c.grants[audience] != g {
		return // renewed, or the connection is gone
	}
	delete(c.grants, audience)
	now := c.s.now()
	for _, sess := range c.sessions {
		for _, l := range sess.links {
			if l.q.node != nil || l.q.reply || c.authorized(l.q.name, now) || !covers(g.entity, l.q.name) {
				continue
			}
			sess.detachWith(l, condUnauthorized, "the token for "+audience+" expired")
		}
	}
}

// dropGrants stops the expiry timers of a connection that is gone. Callers
// hold the server's lock.
func (c *conn) dropGrants() {
	for a, g := range c.grants {
		g.timer.stop()
		delete(c.grants, a)
	}
}
