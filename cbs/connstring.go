package cbs

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/amqpurl"
)

// ConnectionString is a parsed Service Bus / Event Hubs connection string:
//
//	Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=NAME;SharedAccessKey=KEY;EntityPath=QUEUE
//
// or, instead of the key pair, SharedAccessSignature=SharedAccessSignature sr=…
type ConnectionString struct {
	// Host is the namespace's fully qualified host name.
	Host string
	// Port is the endpoint's port, 0 when it names none.
	Port int
	// KeyName is the shared access key's name (SharedAccessKeyName).
	KeyName string
	// EntityPath is the queue, topic or event hub, when the string names one.
	EntityPath string
	// UseDevelopmentEmulator is set by the Service Bus emulator's strings; the
	// connection then uses plain amqp:// instead of amqps://.
	UseDevelopmentEmulator bool

	key       string
	signature string
}

// Key returns the shared access key.
func (c *ConnectionString) Key() string { return c.key }

// Signature returns the shared access signature, when the string carries one
// instead of a key.
func (c *ConnectionString) Signature() string { return c.signature }

// URL returns the AMQP URL to dial: amqps://HOST (amqp:// for the emulator), with
// no credentials; they travel by CBS, per link.
func (c *ConnectionString) URL() string {
	scheme := "amqps"
	if c.UseDevelopmentEmulator {
		scheme = "amqp"
	}
	if c.Port != 0 {
		return fmt.Sprintf("%s://%s:%d", scheme, c.Host, c.Port)
	}
	return scheme + "://" + c.Host
}

// String describes the connection string with its secrets replaced.
func (c *ConnectionString) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Endpoint=sb://%s/", c.Host)
	if c.KeyName != "" {
		fmt.Fprintf(&b, ";SharedAccessKeyName=%s", c.KeyName)
	}
	if c.key != "" {
		b.WriteString(";SharedAccessKey=REDACTED")
	}
	if c.signature != "" {
		b.WriteString(";SharedAccessSignature=REDACTED")
	}
	if c.EntityPath != "" {
		fmt.Fprintf(&b, ";EntityPath=%s", c.EntityPath)
	}
	return b.String()
}

// Format keeps secrets out of every fmt verb, %+v and %#v included.
func (c *ConnectionString) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue keeps secrets out of slog output.
func (c *ConnectionString) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ParseConnectionString parses s. Errors match errorpolicy.ErrInvalidURL and name
// the offending key (errors.As to *errorpolicy.URLError); they never contain the
// key or signature.
func ParseConnectionString(s string) (*ConnectionString, error) {
	c := &ConnectionString{}
	var endpoint string
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errorpolicy.InvalidURL("connection string", "a part has no '=' (expected Key=Value pairs separated by ';')")
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "endpoint":
			endpoint = strings.TrimSpace(v)
		case "sharedaccesskeyname":
			c.KeyName = v
		case "sharedaccesskey":
			c.key = v
		case "sharedaccesssignature":
			c.signature = v
		case "entitypath":
			c.EntityPath = v
		case "usedevelopmentemulator":
			c.UseDevelopmentEmulator = strings.EqualFold(strings.TrimSpace(v), "true")
		default:
			// Unknown keys (TransportType, …) are tolerated as other SDKs do,
			// but never echoed: their values might be secrets.
		}
	}
	if endpoint == "" {
		return nil, errorpolicy.InvalidURL("Endpoint", "missing")
	}
	if err := c.parseEndpoint(endpoint); err != nil {
		return nil, err
	}
	switch {
	case c.signature != "" && (c.key != "" || c.KeyName != ""):
		return nil, errorpolicy.InvalidURL("SharedAccessSignature", "give either SharedAccessSignature or SharedAccessKeyName and SharedAccessKey, not both")
	case c.signature != "":
	case c.KeyName == "" && c.key != "":
		return nil, errorpolicy.InvalidURL("SharedAccessKeyName", "missing (SharedAccessKey is set)")
	case c.KeyName != "" && c.key == "":
		return nil, errorpolicy.InvalidURL("SharedAccessKey", "missing (SharedAccessKeyName is set)")
	}
	return c, nil
}

func (c *ConnectionString) parseEndpoint(endpoint string) error {
	scheme, rest, ok := strings.Cut(endpoint, "://")
	if !ok {
		return errorpolicy.InvalidURL("Endpoint", `expected "sb://HOST/"`)
	}
	switch strings.ToLower(scheme) {
	case "sb", "amqp", "amqps":
	default:
		return errorpolicy.InvalidURL("Endpoint", fmt.Sprintf("scheme %q is not sb, amqp or amqps", scheme))
	}
	if strings.Contains(rest, "@") {
		return errorpolicy.InvalidURL("Endpoint", "user info is not allowed; use SharedAccessKeyName and SharedAccessKey")
	}
	hostPort, _, _ := strings.Cut(rest, "/")
	u, err := amqpurl.Parse("amqp://" + hostPort)
	if err != nil {
		var ue *errorpolicy.URLError
		if errors.As(err, &ue) {
			return errorpolicy.InvalidURL("Endpoint", ue.Part+": "+ue.Reason)
		}
		return err
	}
	c.Host = u.Host
	if u.PortGiven {
		c.Port = u.Port
	}
	return nil
}

// TokenProvider returns the provider the string's credentials make: a SASKey
// for a key pair, a SASToken for a shared access signature.
func (c *ConnectionString) TokenProvider() TokenProvider {
	if c.signature != "" {
		return &SASToken{Signature: c.signature}
	}
	return &SASKey{KeyName: c.KeyName, Key: c.key}
}
