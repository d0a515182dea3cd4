package sasl

import (
	"fmt"
	"log/slog"
)

// Mechanism is one of the SASL mechanisms in this package. The set is closed because
// drivers must know how to speak each one.
type Mechanism interface {
	// Name is the IANA mechanism name, e.g. "PLAIN".
	Name() string
	fmt.Stringer
	mechanism()
}

const redacted = "REDACTED"

// Plain authenticates with a user name and password (RFC 4616).
type Plain struct {
	Username string
	Password string
}

// Anonymous authenticates as nobody in particular; RabbitMQ maps it to its default
// user, and Azure endpoints expect it, with claims-based security per link.
type Anonymous struct{}

// External relies on credentials established outside SASL, usually a TLS client
// certificate. Response is the authorization identity; empty means "derive it".
type External struct {
	Response string
}

// XOAUTH2 authenticates with an OAuth 2.0 bearer token.
type XOAUTH2 struct {
	Username string
	Token    string
	// MaxFrameSizeOverride raises the frame size allowed for the SASL init frame
	// when the token is larger than the 512 bytes AMQP guarantees. 0 keeps 512.
	MaxFrameSizeOverride uint32
}

func (Plain) Name() string     { return "PLAIN" }
func (Anonymous) Name() string { return "ANONYMOUS" }
func (External) Name() string  { return "EXTERNAL" }
func (XOAUTH2) Name() string   { return "XOAUTH2" }

func (Plain) mechanism()     {}
func (Anonymous) mechanism() {}
func (External) mechanism()  {}
func (XOAUTH2) mechanism()   {}

func (p Plain) String() string {
	return fmt.Sprintf("PLAIN(user=%q, password=%s)", p.Username, redacted)
}
func (Anonymous) String() string  { return "ANONYMOUS" }
func (e External) String() string { return fmt.Sprintf("EXTERNAL(%q)", e.Response) }
func (x XOAUTH2) String() string {
	return fmt.Sprintf("XOAUTH2(user=%q, token=%s)", x.Username, redacted)
}
func (p Plain) GoString() string   { return "sasl." + p.String() }
func (x XOAUTH2) GoString() string { return "sasl." + x.String() }

// Format keeps secrets out of every fmt verb, %+v and %#v included.
func (p Plain) Format(f fmt.State, _ rune) { fmt.Fprint(f, p.String()) }

// Format keeps secrets out of every fmt verb, %+v and %#v included.
func (x XOAUTH2) Format(f fmt.State, _ rune) { fmt.Fprint(f, x.String()) }

// LogValue keeps the password out of slog output.
func (p Plain) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mechanism", "PLAIN"), slog.String("user", p.Username), slog.String("password", redacted))
}

// LogValue keeps the token out of slog output.
func (x XOAUTH2) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mechanism", "XOAUTH2"), slog.String("user", x.Username), slog.String("token", redacted))
}
