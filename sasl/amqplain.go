package sasl

import (
	"fmt"
	"log/slog"
)

// AMQPlain is RabbitMQ's AMQPLAIN mechanism: PLAIN's user name and password sent
// as an AMQP 0-9-1 field table. Only the AMQP 0-9-1 driver offers it.
type AMQPlain struct {
	Username string
	Password string
}

func (AMQPlain) Name() string { return "AMQPLAIN" }
func (AMQPlain) mechanism()   {}

func (p AMQPlain) String() string {
	return fmt.Sprintf("AMQPLAIN(user=%q, password=%s)", p.Username, redacted)
}
func (p AMQPlain) GoString() string { return "sasl." + p.String() }

// Format keeps secrets out of every fmt verb, %+v and %#v included.
func (p AMQPlain) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// LogValue keeps the password out of slog output.
func (p AMQPlain) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mechanism", "AMQPLAIN"), slog.String("user", p.Username), slog.String("password", redacted))
}
