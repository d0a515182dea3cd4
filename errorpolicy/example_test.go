package errorpolicy_test

import (
	"fmt"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
)

// A policy for a throttling broker: resource-limit-exceeded is retried like
// server-busy, and a broker restart is ridden out for about a minute.
func ExamplePolicy() {
	p := &errorpolicy.Policy{
		MaxRetries: 60,
		MaxDelay:   time.Second,
		Classes: map[errorpolicy.Condition]errorpolicy.Class{
			errorpolicy.CondResourceLimitExceeded: errorpolicy.Retry,
		},
	}
	throttled := &errorpolicy.Error{Condition: errorpolicy.CondResourceLimitExceeded, Remote: true}
	stolen := &errorpolicy.Error{Condition: errorpolicy.CondLinkStolen, Scope: errorpolicy.ScopeLink, Remote: true}
	reset := &errorpolicy.Error{Condition: errorpolicy.CondConnectionLost, Scope: errorpolicy.ScopeConn, Class: errorpolicy.RecoverConn}

	fmt.Println(p.Decide(throttled, errorpolicy.Attempt{N: 1}).Action)
	fmt.Println(p.Decide(stolen, errorpolicy.Attempt{N: 1}).Action)
	fmt.Println(p.Decide(reset, errorpolicy.Attempt{N: 1}))
	// Output:
	// retry
	// give-up
	// {reconnect 0s}
}
