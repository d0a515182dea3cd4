package amqp091

import (
	"net/url"
	"strings"

	"github.com/amqplink/amqplink/errorpolicy"
)

// Address is a parsed link address. The syntax is RabbitMQ's own AMQP 1.0 address
// syntax, so that one address works on both drivers against RabbitMQ and a program
// switches protocol by changing only the Dial options:
//
//	/amq/queue/<queue>, /queue/<queue>, /queues/<queue>, <queue>
//	                              a queue: consume from it; publish to it through
//	                              the default exchange
//	/exchange/<exchange>/<key>, /exchanges/<exchange>/<key>
//	                              publish to an exchange with a routing key (without
//	                              a key, the message's Subject is the key); receive
//	                              through a server-named, exclusive queue bound with
//	                              the key
//	/topic/<key>                  the same, on amq.topic
//
// Segments are percent-decoded. The 0-9-1 driver never declares the queue a
// queue address names: declare it with Declare (or RabbitMQ's 1.0 "/queue/"
// form, which declares it there) first.
type Address struct {
	// Queue is the queue to consume from or publish to (via the default exchange).
	Queue string
	// Exchange is the exchange to publish to or bind a temporary queue to.
	Exchange string
	// RoutingKey is the routing key; for a queue address, the queue's name.
	RoutingKey string
	// KeyGiven is false for an exchange address without a key.
	KeyGiven bool
}

// IsExchange reports whether the address names an exchange rather than a queue.
func (a Address) IsExchange() bool { return a.Queue == "" }

// ParseAddress parses a link address; errors are errorpolicy.ErrInvalidOption.
func ParseAddress(addr string) (Address, error) {
	bad := func(why string) (Address, error) {
		return Address{}, errorpolicy.InvalidOption("amqp091: address " + addr + ": " + why)
	}
	if addr == "" {
		return bad("empty")
	}
	if !strings.HasPrefix(addr, "/") {
		q, err := url.PathUnescape(addr)
		if err != nil {
			return bad("bad percent-encoding")
		}
		return Address{Queue: q, RoutingKey: q, KeyGiven: true}, nil
	}
	parts := strings.Split(addr[1:], "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return bad("bad percent-encoding")
		}
		parts[i] = u
	}
	switch {
	case len(parts) == 3 && parts[0] == "amq" && parts[1] == "queue",
		len(parts) == 2 && (parts[0] == "queue" || parts[0] == "queues"):
		q := parts[len(parts)-1]
		if q == "" {
			return bad("no queue name")
		}
		return Address{Queue: q, RoutingKey: q, KeyGiven: true}, nil
	case (parts[0] == "exchange" || parts[0] == "exchanges") && (len(parts) == 2 || len(parts) == 3):
		a := Address{Exchange: parts[1]}
		if a.Exchange == "" {
			return bad("no exchange name (the default exchange is reached with a queue address)")
		}
		if len(parts) == 3 {
			a.RoutingKey, a.KeyGiven = parts[2], true
		}
		return a, nil
	case len(parts) == 2 && parts[0] == "topic":
		return Address{Exchange: "amq.topic", RoutingKey: parts[1], KeyGiven: true}, nil
	}
	return bad("not one of /amq/queue/<q>, /queue/<q>, /queues/<q>, /exchange/<x>[/<key>], /topic/<key> or a bare queue name")
}
