package amqplink_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/errorpolicy"
)

func TestDialRejectsUnavailableProtocols(t *testing.T) {
	ctx := context.Background()
	_, err := amqplink.Dial(ctx, "amqp://127.0.0.1:1", &amqplink.Options{Protocol: amqplink.AMQP091})
	assert.ErrorIs(t, err, errorpolicy.ErrDialFailed, "nothing listens on port 1")
	_, err = amqplink.Dial(ctx, "amqp://127.0.0.1:1", &amqplink.Options{Protocol: amqplink.AMQP091, TokenProvider: &cbs.SASToken{}})
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption, "CBS is AMQP 1.0 only")
	_, err = amqplink.Dial(ctx, "amqp://127.0.0.1:1", &amqplink.Options{Protocol: 9})
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption)
	assert.Equal(t, "AMQP 1.0", amqplink.AMQP10.String())
}
