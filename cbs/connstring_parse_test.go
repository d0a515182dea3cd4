package cbs_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/errorpolicy"
)

const (
	key = "KEY-s3cr3t="
	sig = "SharedAccessSignature sr=x&sig=SIG-s3cr3t&se=1&skn=k"
)

func TestParseConnectionString(t *testing.T) {
	cs, err := cbs.ParseConnectionString("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=" + key + ";EntityPath=orders")
	require.NoError(t, err)
	assert.Equal(t, "ns.servicebus.windows.net", cs.Host)
	assert.Equal(t, "RootManageSharedAccessKey", cs.KeyName)
	assert.Equal(t, key, cs.Key(), "a key may end in '=' (base64)")
	assert.Equal(t, "orders", cs.EntityPath)
	assert.Equal(t, "amqps://ns.servicebus.windows.net", cs.URL())

	cs, err = cbs.ParseConnectionString("Endpoint=sb://localhost:5673;SharedAccessSignature=" + sig + ";UseDevelopmentEmulator=true")
	require.NoError(t, err)
	assert.Equal(t, sig, cs.Signature())
	assert.Equal(t, "amqp://localhost:5673", cs.URL())
}

func TestParseConnectionStringErrors(t *testing.T) {
	cases := []struct{ s, part string }{
		{"SharedAccessKeyName=k;SharedAccessKey=" + key, "Endpoint"},
		{"Endpoint=http://ns/;SharedAccessKeyName=k;SharedAccessKey=" + key, "Endpoint"},
		{"Endpoint=ns.servicebus.windows.net;SharedAccessKeyName=k;SharedAccessKey=" + key, "Endpoint"},
		{"Endpoint=sb://ns:99999/;SharedAccessKeyName=k;SharedAccessKey=" + key, "Endpoint"},
		{"Endpoint=sb://ns/;SharedAccessKey=" + key, "SharedAccessKeyName"},
		{"Endpoint=sb://ns/;SharedAccessKeyName=k", "SharedAccessKey"},
		{"Endpoint=sb://ns/;SharedAccessKeyName=k;SharedAccessKey=" + key + ";SharedAccessSignature=" + sig, "SharedAccessSignature"},
		{"Endpoint=sb://ns/;SharedAccessKeyName=k;s3cr3t-without-equals", "connection string"},
	}
	for _, tc := range cases {
		_, err := cbs.ParseConnectionString(tc.s)
		require.Error(t, err, tc.s)
		assert.ErrorIs(t, err, errorpolicy.ErrInvalidURL)
		var ue *errorpolicy.URLError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, tc.part, ue.Part, tc.s)
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err)} {
			assert.NotContains(t, text, "s3cr3t", tc.s)
		}
	}
}

func TestConnectionStringNeverPrintsSecrets(t *testing.T) {
	for _, s := range []string{
		"Endpoint=sb://ns/;SharedAccessKeyName=k;SharedAccessKey=" + key,
		"Endpoint=sb://ns/;SharedAccessSignature=" + sig,
	} {
		cs, err := cbs.ParseConnectionString(s)
		require.NoError(t, err)
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("dial", "cs", cs)
		for _, text := range []string{cs.String(), fmt.Sprintf("%v|%+v|%#v|%s", cs, cs, cs, cs), logs.String()} {
			assert.NotContains(t, text, "s3cr3t")
			assert.Contains(t, text, "ns")
		}
	}
}
