package amqp091

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"

	"github.com/amqplink/amqplink/errorpolicy"
)

// Opening one channel too many is not a lost connection: the recovery layer
// retires (closes) a connection on any ScopeConn attach error.
func TestOneChannelTooManyIsNotALostConnection(t *testing.T) {
	err := translate(amqp.ErrChannelMax, errorpolicy.ScopeConn)
	var e *errorpolicy.Error
	assert.ErrorAs(t, err, &e)
	assert.NotEqual(t, errorpolicy.ScopeConn, e.Scope, "got %v (class %v)", err, e.Class)
}
