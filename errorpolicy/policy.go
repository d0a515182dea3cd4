package errorpolicy

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// Action is what a Policy decides to do after an error.
type Action uint8

const (
	// GiveUp reports the error to the caller. It is the zero value, so a decision
	// nobody made never retries.
	GiveUp Action = iota
	// RetryInPlace repeats the operation on the same link after Decision.Wait.
	RetryInPlace
	// Reattach attaches a new link (on the same connection) after Decision.Wait.
	Reattach
	// Reconnect opens a new connection, then attaches a new link, after Decision.Wait.
	Reconnect
)

var actionNames = [...]string{GiveUp: "give-up", RetryInPlace: "retry", Reattach: "reattach", Reconnect: "reconnect"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(?)"
}

// Decision is a Policy's answer: what to do, and how long to wait first.
type Decision struct {
	Action Action
	Wait   time.Duration
}

// Attempt describes the failure being decided on.
type Attempt struct {
	// N counts consecutive failures of the same operation, from 1. It returns to
	// 1 after a success.
	N int
	// Idle is how long the failed link had carried no message before it failed;
	// zero when unknown.
	Idle time.Duration
}

// Hook lets a program decide one error itself, in the shape of uAMQP's
// ErrorPolicy callbacks. Returning ok false leaves the decision to the policy's
// table. A hook must not block.
type Hook func(err error, a Attempt) (d Decision, ok bool)

// Defaults used when the corresponding Policy field is zero.
const (
	DefaultMaxRetries    = 3
	DefaultBaseDelay     = 250 * time.Millisecond
	DefaultMaxDelay      = 10 * time.Second
	DefaultIdleThreshold = 5 * time.Minute
)

// Policy decides, from an error and the attempt number, whether to retry in
// place, re-attach the link, reconnect, or give up. The zero value (or a nil
// *Policy) is the default policy:
//
//   - Fatal and Canceled errors give up at once; nothing is retried that cannot
//     succeed unchanged, and a caller who gave up is not retried for.
//   - Retry, RecoverLink and RecoverConn errors are retried up to MaxRetries (3)
//     consecutive times. A Retry waits BaseDelay (250 ms) first. A lost link or
//     connection is rebuilt at once on the first attempt (the new link is not
//     the one that failed), and after BaseDelay on the next. Each further
//     attempt doubles the wait, up to MaxDelay (10 s), with ±20% jitter so that
//     many clients failing together do not return together.
//   - A link detached after sitting idle for IdleThreshold (5 min) or longer gets
//     one immediate re-attach, even under a policy that allows no retries:
//     Service Bus detaches links idle for 10 minutes, and that is routine, not a
//     failure.
//   - The caller's context bounds everything: the operation that asked ends when
//     its context does, whatever the policy says.
//
// A Policy is safe for concurrent use once built; do not change it while in use.
type Policy struct {
	// MaxRetries is the most consecutive retries of one operation. Default 3;
	// negative means never retry.
	MaxRetries int
	// BaseDelay is the wait before the first retry. Default 250 ms.
	BaseDelay time.Duration
	// MaxDelay caps the wait between retries. Default 10 s.
	MaxDelay time.Duration
	// IdleThreshold is how long a link must have been idle for its detach to be
	// answered with an immediate re-attach whatever MaxRetries says. Default
	// 5 min; negative turns the rule off.
	IdleThreshold time.Duration
	// Classes overrides the class of particular conditions (see DefaultClass), say
	// to treat amqp:resource-limit-exceeded as Retry for a throttling broker.
	Classes map[Condition]Class

	// OnLinkError decides errors that ended a link or session (and failed
	// attaches), OnConnError errors that ended the connection, OnMessageError
	// errors about one message or operation. Nil hooks, or hooks that return
	// ok false, leave the decision to the table above.
	OnLinkError    Hook
	OnConnError    Hook
	OnMessageError Hook
}

// Class returns err's class under p: the override for its condition if there is
// one, otherwise ClassOf(err).
func (p *Policy) Class(err error) Class {
	if p != nil && p.Classes != nil {
		var e *Error
		if errors.As(err, &e) {
			if c, ok := p.Classes[e.Condition]; ok {
				return c
			}
		}
	}
	return ClassOf(err)
}

// Decide returns what to do about err at attempt a.
func (p *Policy) Decide(err error, a Attempt) Decision {
	if err == nil {
		return Decision{}
	}
	class := p.Class(err)
	if class == Canceled {
		return Decision{} // the caller gave up; no hook may overrule that
	}
	if p != nil {
		if hook := p.hookFor(err, class); hook != nil {
			if d, ok := hook(err, a); ok {
				return d
			}
		}
	}
	var action Action
	switch class {
	case Retry:
		action = RetryInPlace
	case RecoverLink:
		action = Reattach
	case RecoverConn:
		action = Reconnect
	default:
		return Decision{}
	}
	if action == Reattach && a.N == 1 && a.Idle > 0 && a.Idle >= p.idleThreshold() {
		return Decision{Action: Reattach} // a routine idle detach: at once
	}
	if a.N > p.maxRetries() {
		return Decision{}
	}
	n := a.N
	if action != RetryInPlace {
		if n == 1 {
			return Decision{Action: action}
		}
		n--
	}
	return Decision{Action: action, Wait: p.Backoff(n)}
}

// hookFor picks the hook for err: by the scope it ended, else by its class.
func (p *Policy) hookFor(err error, class Class) Hook {
	scope := ScopeNone
	var e *Error
	if errors.As(err, &e) {
		scope = e.Scope
	}
	switch {
	case scope == ScopeConn || (scope == ScopeNone && class == RecoverConn):
		return p.OnConnError
	case scope == ScopeLink || scope == ScopeSession || class == RecoverLink:
		return p.OnLinkError
	}
	return p.OnMessageError
}

// Backoff is the wait before retry n (from 1): BaseDelay·2^(n-1), at most
// MaxDelay, with ±20% jitter.
func (p *Policy) Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	base, ceiling := p.baseDelay(), p.maxDelay()
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		if d > ceiling/2 { // doubling would pass the ceiling, or overflow
			d = ceiling
			break
		}
		d *= 2
	}
	d = min(d, ceiling)
	jitter := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	if jitter > 0 && d > math.MaxInt64-jitter {
		return d
	}
	return d + jitter
}

// Retries is how many retries the policy allows after a first failure:
// MaxRetries, DefaultMaxRetries when that is 0, none when it is negative.
func (p *Policy) Retries() int { return p.maxRetries() }

func (p *Policy) maxRetries() int {
	switch {
	case p == nil || p.MaxRetries == 0:
		return DefaultMaxRetries
	case p.MaxRetries < 0:
		return 0
	}
	return p.MaxRetries
}

func (p *Policy) baseDelay() time.Duration {
	if p == nil || p.BaseDelay <= 0 {
		return DefaultBaseDelay
	}
	return p.BaseDelay
}

func (p *Policy) maxDelay() time.Duration {
	if p == nil || p.MaxDelay <= 0 {
		return DefaultMaxDelay
	}
	return max(p.MaxDelay, p.baseDelay())
}

func (p *Policy) idleThreshold() time.Duration {
	switch {
	case p == nil || p.IdleThreshold == 0:
		return DefaultIdleThreshold
	case p.IdleThreshold < 0:
		return 1<<63 - 1
	}
	return p.IdleThreshold
}
