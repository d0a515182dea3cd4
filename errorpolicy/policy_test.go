package errorpolicy_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/amqplink/amqplink/errorpolicy"
)

func remote(cond errorpolicy.Condition, scope errorpolicy.Scope) error {
	return &errorpolicy.Error{Condition: cond, Scope: scope, Class: errorpolicy.DefaultClass(cond), Remote: true}
}

func TestDefaultPolicyDecidesByClass(t *testing.T) {
	var p *errorpolicy.Policy // nil is the default policy
	first := errorpolicy.Attempt{N: 1}
	cases := []struct {
		err  error
		want errorpolicy.Action
	}{
		{remote(errorpolicy.CondServerBusy, errorpolicy.ScopeNone), errorpolicy.RetryInPlace},
		{remote(errorpolicy.CondDetachForced, errorpolicy.ScopeLink), errorpolicy.Reattach},
		{remote(errorpolicy.CondConnectionForced, errorpolicy.ScopeConn), errorpolicy.Reconnect},
		{remote(errorpolicy.CondInternalError, errorpolicy.ScopeSession), errorpolicy.Reconnect},
		{io.ErrUnexpectedEOF, errorpolicy.Reconnect},
		{remote(errorpolicy.CondUnauthorizedAccess, errorpolicy.ScopeLink), errorpolicy.GiveUp},
		{remote(errorpolicy.CondLinkStolen, errorpolicy.ScopeLink), errorpolicy.GiveUp},
		{remote(errorpolicy.CondMessageLockLost, errorpolicy.ScopeNone), errorpolicy.GiveUp},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), errorpolicy.GiveUp},
		{remote("vendor:never-heard-of-it", errorpolicy.ScopeNone), errorpolicy.GiveUp},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, p.Decide(c.err, first).Action, "%v", c.err)
	}
}

func TestDefaultPolicyBacksOffAndGivesUp(t *testing.T) {
	p := &errorpolicy.Policy{}
	busy := remote(errorpolicy.CondServerBusy, errorpolicy.ScopeNone)
	lost := remote(errorpolicy.CondConnectionForced, errorpolicy.ScopeConn)

	within := func(d, nominal time.Duration) bool { return d >= nominal*8/10 && d <= nominal*12/10 }
	for n, nominal := range map[int]time.Duration{1: 250 * time.Millisecond, 2: 500 * time.Millisecond, 3: time.Second} {
		d := p.Decide(busy, errorpolicy.Attempt{N: n})
		assert.True(t, within(d.Wait, nominal), "retry %d waited %v, want %v ±20%%", n, d.Wait, nominal)
	}
	assert.Zero(t, p.Decide(lost, errorpolicy.Attempt{N: 1}).Wait, "a lost connection is rebuilt at once")
	d := p.Decide(lost, errorpolicy.Attempt{N: 2})
	assert.True(t, within(d.Wait, 250*time.Millisecond), "then backs off: %v", d.Wait)

	assert.Equal(t, errorpolicy.GiveUp, p.Decide(busy, errorpolicy.Attempt{N: 4}).Action, "3 retries by default")
	assert.Equal(t, errorpolicy.GiveUp, (&errorpolicy.Policy{MaxRetries: -1}).Decide(busy, errorpolicy.Attempt{N: 1}).Action)
	assert.Equal(t, errorpolicy.RetryInPlace, (&errorpolicy.Policy{MaxRetries: 10}).Decide(busy, errorpolicy.Attempt{N: 10}).Action)

	capped := &errorpolicy.Policy{BaseDelay: time.Second, MaxDelay: 2 * time.Second}
	for range 50 {
		assert.LessOrEqual(t, capped.Backoff(30), 2*time.Second*12/10, "MaxDelay caps the wait, jitter included")
	}
}

func TestIdleDetachIsReattachedAtOnce(t *testing.T) {
	noRetries := &errorpolicy.Policy{MaxRetries: -1}
	detach := remote(errorpolicy.CondDetachForced, errorpolicy.ScopeLink)
	d := noRetries.Decide(detach, errorpolicy.Attempt{N: 1, Idle: 10 * time.Minute})
	assert.Equal(t, errorpolicy.Decision{Action: errorpolicy.Reattach}, d, "an idle link is re-attached even with no retries allowed")
	assert.Equal(t, errorpolicy.GiveUp, noRetries.Decide(detach, errorpolicy.Attempt{N: 1, Idle: time.Second}).Action,
		"a busy link's detach is a failure like any other")
	assert.Equal(t, errorpolicy.GiveUp, noRetries.Decide(detach, errorpolicy.Attempt{N: 2, Idle: time.Hour}).Action,
		"only once")

	off := &errorpolicy.Policy{IdleThreshold: -1, MaxRetries: -1}
	assert.Equal(t, errorpolicy.GiveUp, off.Decide(detach, errorpolicy.Attempt{N: 1, Idle: time.Hour}).Action,
		"with the rule off, a policy that never retries gives up")
}

func TestPolicyOverridesAndHooks(t *testing.T) {
	limit := remote(errorpolicy.CondResourceLimitExceeded, errorpolicy.ScopeNone)
	p := &errorpolicy.Policy{Classes: map[errorpolicy.Condition]errorpolicy.Class{
		errorpolicy.CondResourceLimitExceeded: errorpolicy.Retry,
	}}
	assert.Equal(t, errorpolicy.Retry, p.Class(limit))
	assert.Equal(t, errorpolicy.RetryInPlace, p.Decide(limit, errorpolicy.Attempt{N: 1}).Action)

	var calls []string
	hook := func(name string) errorpolicy.Hook {
		return func(err error, a errorpolicy.Attempt) (errorpolicy.Decision, bool) {
			calls = append(calls, name)
			return errorpolicy.Decision{Action: errorpolicy.RetryInPlace, Wait: time.Millisecond}, name != "message"
		}
	}
	p = &errorpolicy.Policy{OnLinkError: hook("link"), OnConnError: hook("conn"), OnMessageError: hook("message")}
	unauthorized := remote(errorpolicy.CondUnauthorizedAccess, errorpolicy.ScopeLink)
	assert.Equal(t, errorpolicy.Decision{Action: errorpolicy.RetryInPlace, Wait: time.Millisecond},
		p.Decide(unauthorized, errorpolicy.Attempt{N: 1}), "a hook overrules the table")
	p.Decide(remote(errorpolicy.CondConnectionForced, errorpolicy.ScopeConn), errorpolicy.Attempt{N: 1})
	d := p.Decide(remote(errorpolicy.CondMessageLockLost, errorpolicy.ScopeNone), errorpolicy.Attempt{N: 1})
	assert.Equal(t, errorpolicy.GiveUp, d.Action, "a hook that declines leaves the table's answer")
	p.Decide(context.Canceled, errorpolicy.Attempt{N: 1})
	assert.Equal(t, []string{"link", "conn", "message"}, calls, "no hook is asked about a caller who gave up")
}
