package amqp091_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqp091"
	"github.com/amqplink/amqplink/errorpolicy"
)

func TestParseAddress(t *testing.T) {
	good := map[string]amqp091.Address{
		"orders":             {Queue: "orders", RoutingKey: "orders", KeyGiven: true},
		"/amq/queue/orders":  {Queue: "orders", RoutingKey: "orders", KeyGiven: true},
		"/queue/orders":      {Queue: "orders", RoutingKey: "orders", KeyGiven: true},
		"/queues/a%2Fb":      {Queue: "a/b", RoutingKey: "a/b", KeyGiven: true},
		"/exchange/ex/k.1":   {Exchange: "ex", RoutingKey: "k.1", KeyGiven: true},
		"/exchanges/ex":      {Exchange: "ex"},
		"/exchange/ex/":      {Exchange: "ex", KeyGiven: true},
		"/topic/stock.nyse":  {Exchange: "amq.topic", RoutingKey: "stock.nyse", KeyGiven: true},
		"/exchange/a%20b/k%": {},
	}
	for in, want := range good {
		got, err := amqp091.ParseAddress(in)
		if in == "/exchange/a%20b/k%" {
			require.ErrorIs(t, err, errorpolicy.ErrInvalidOption, "bad percent-encoding")
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want.Queue == "", got.IsExchange(), in)
	}
	for _, bad := range []string{"", "/", "/amq/queue/", "/queue/", "/exchange//k", "/unknown/x", "/queue/a/b"} {
		_, err := amqp091.ParseAddress(bad)
		assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption, bad)
	}
}
