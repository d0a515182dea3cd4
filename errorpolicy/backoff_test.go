package errorpolicy_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/amqplink/amqplink/errorpolicy"
)

// "Retry for ever, no cap": MaxDelay = max Duration. Backoff must not overflow.
func TestBackoffWithNoCapNeitherOverflowsNorPanics(t *testing.T) {
	p := &errorpolicy.Policy{MaxRetries: math.MaxInt, MaxDelay: time.Duration(math.MaxInt64)}
	busy := &errorpolicy.Error{Condition: errorpolicy.CondServerBusy, Class: errorpolicy.Retry}
	for n := 30; n <= 70; n++ {
		var d errorpolicy.Decision
		assert.NotPanics(t, func() { d = p.Decide(busy, errorpolicy.Attempt{N: n}) }, "attempt %d", n)
		assert.Positive(t, d.Wait, "attempt %d", n)
	}
}
