package cbs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"time"

	"github.com/amqplink/amqplink/errorpolicy"
)

// Token types of put-token.
const (
	TypeSAS = "servicebus.windows.net:sastoken"
	TypeJWT = "jwt"
)

// Token is a credential for one audience.
type Token struct {
	// Type is TypeSAS or TypeJWT.
	Type string
	// Value is the token itself. It is a secret: never log it.
	Value string
	// Expiry is when the token stops being valid.
	Expiry time.Time
}

// TokenProvider returns tokens for audiences (an entity's URL, such as
// amqps://ns.servicebus.windows.net/orders). It must be safe for concurrent use.
type TokenProvider interface {
	Token(ctx context.Context, audience string) (Token, error)
}

// DefaultSASLifetime is the lifetime of a token from SASKey when Lifetime is zero.
const DefaultSASLifetime = time.Hour

// SASKey signs tokens with a shared access key: the key name and key of a
// Service Bus or Event Hubs shared access policy. Its fields are secrets
// except KeyName; it never prints the key.
type SASKey struct {
	KeyName string
	Key     string
	// Lifetime is how long each token is valid. Default: DefaultSASLifetime (1 h).
	Lifetime time.Duration
}

// Token signs a token for audience that expires Lifetime from now.
func (k *SASKey) Token(_ context.Context, audience string) (Token, error) {
	if k.KeyName == "" || k.Key == "" {
		return Token{}, errorpolicy.InvalidOption("cbs: SASKey needs KeyName and Key")
	}
	life := k.Lifetime
	if life <= 0 {
		life = DefaultSASLifetime
	}
	expiry := time.Now().Add(life).Truncate(time.Second)
	return Token{Type: TypeSAS, Value: SignSAS(audience, k.KeyName, k.Key, expiry), Expiry: expiry}, nil
}

// String names the key, not its value.
func (k *SASKey) String() string { return "cbs.SASKey{KeyName: " + k.KeyName + ", Key: redacted}" }

// SignSAS returns a shared access signature for audience, signed with key and
// valid until expiry (whole seconds):
//
//	SharedAccessSignature sr=<audience>&sig=<base64 HMAC-SHA256 of "<audience>\n<expiry>">&se=<expiry>&skn=<keyName>
//
// with the audience URL-encoded both in the token and in the string signed.
func SignSAS(audience, keyName, key string, expiry time.Time) string {
	sr := url.QueryEscape(audience)
	se := strconv.FormatInt(expiry.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(sr + "\n" + se))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return "SharedAccessSignature sr=" + sr + "&sig=" + url.QueryEscape(sig) + "&se=" + se + "&skn=" + url.QueryEscape(keyName)
}

// SASToken is a fixed shared access signature, used as it is for every
// audience it covers until it expires.
type SASToken struct {
	Signature string
}

// Token returns the signature, with its expiry read from its se field.
func (t *SASToken) Token(context.Context, string) (Token, error) {
	rest := t.Signature
	const prefix = "SharedAccessSignature "
	if len(rest) > len(prefix) && rest[:len(prefix)] == prefix {
		rest = rest[len(prefix):]
	}
	f, err := url.ParseQuery(rest)
	if err != nil || f.Get("se") == "" {
		return Token{}, errorpolicy.InvalidOption("cbs: SASToken is not a SharedAccessSignature with an se field")
	}
	secs, err := strconv.ParseInt(f.Get("se"), 10, 64)
	if err != nil {
		return Token{}, errorpolicy.InvalidOption("cbs: SASToken has a malformed se field")
	}
	return Token{Type: TypeSAS, Value: t.Signature, Expiry: time.Unix(secs, 0)}, nil
}

// String does not print the signature.
func (t *SASToken) String() string { return "cbs.SASToken{redacted}" }
