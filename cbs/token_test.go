package cbs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignSASHasTheDocumentedShape(t *testing.T) {
	expiry := time.Unix(1700000000, 0)
	tok := SignSAS("amqps://ns.servicebus.windows.net/orders", "send", "key", expiry)
	rest, ok := strings.CutPrefix(tok, "SharedAccessSignature ")
	require.True(t, ok)
	f, err := url.ParseQuery(rest)
	require.NoError(t, err)
	assert.Equal(t, "amqps://ns.servicebus.windows.net/orders", f.Get("sr"))
	assert.Equal(t, "1700000000", f.Get("se"))
	assert.Equal(t, "send", f.Get("skn"))
	mac := hmac.New(sha256.New, []byte("key"))
	mac.Write([]byte(url.QueryEscape("amqps://ns.servicebus.windows.net/orders") + "\n1700000000"))
	assert.Equal(t, base64.StdEncoding.EncodeToString(mac.Sum(nil)), f.Get("sig"))
}

func TestProvidersAndRedaction(t *testing.T) {
	k := &SASKey{KeyName: "send", Key: "very-secret", Lifetime: time.Minute}
	tok, err := k.Token(context.Background(), "amqp://h/q")
	require.NoError(t, err)
	assert.Equal(t, TypeSAS, tok.Type)
	assert.WithinDuration(t, time.Now().Add(time.Minute), tok.Expiry, 2*time.Second)
	assert.NotContains(t, fmt.Sprint(k), "very-secret")

	fixed := &SASToken{Signature: tok.Value}
	got, err := fixed.Token(context.Background(), "amqp://h/q")
	require.NoError(t, err)
	assert.Equal(t, tok.Expiry.Unix(), got.Expiry.Unix())
	assert.NotContains(t, fmt.Sprint(fixed), "sig=")

	_, err = (&SASToken{Signature: "nonsense"}).Token(context.Background(), "a")
	assert.Error(t, err)
	_, err = (&SASKey{}).Token(context.Background(), "a")
	assert.Error(t, err)
}
