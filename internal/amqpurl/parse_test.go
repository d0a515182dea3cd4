package amqpurl_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/amqpurl"
)

const secret = "s3cr3t-PASS"

func TestParseGood(t *testing.T) {
	cases := []struct {
		raw                  string
		host                 string
		port                 int
		portGiven, tls, info bool
		user, pass, path     string
	}{
		{raw: "amqp://localhost", host: "localhost", port: 5672},
		{raw: "amqps://example.com", host: "example.com", port: 5671, tls: true},
		{raw: "AMQP://h:1234/", host: "h", port: 1234, portGiven: true},
		{raw: "amqp://[::1]:5673", host: "::1", port: 5673, portGiven: true},
		{raw: "amqp://[::1]", host: "::1", port: 5672},
		{raw: "amqp://us%40er:p%3Ass@h", host: "h", port: 5672, info: true, user: "us@er", pass: "p:ss"},
		{raw: "amqp://u:" + secret + "@x@h:7", host: "h", port: 7, portGiven: true, info: true, user: "u", pass: secret + "@x"},
		{raw: "amqp://u:pa/ss@h/vhost", host: "h", port: 5672, info: true, user: "u", pass: "pa/ss", path: "vhost"},
		{raw: "amqp://h/%2F", host: "h", port: 5672, path: "/"},
		{raw: "amqp://@h", host: "h", port: 5672, info: true},
	}
	for _, tc := range cases {
		u, err := amqpurl.Parse(tc.raw)
		require.NoError(t, err, tc.raw)
		assert.Equal(t, tc.host, u.Host, tc.raw)
		assert.Equal(t, tc.port, u.Port, tc.raw)
		assert.Equal(t, tc.portGiven, u.PortGiven, tc.raw)
		assert.Equal(t, tc.tls, u.TLS(), tc.raw)
		assert.Equal(t, tc.info, u.HasUserInfo, tc.raw)
		assert.Equal(t, tc.user, u.Username, tc.raw)
		assert.Equal(t, tc.pass, u.Password(), tc.raw)
		assert.Equal(t, tc.path, u.Path, tc.raw)
		assert.NotContains(t, u.String(), secret)
		assert.NotContains(t, fmt.Sprintf("%+v", u), secret)
	}
	u, _ := amqpurl.Parse("amqp://guest:" + secret + "@[::1]:5673/v")
	assert.Equal(t, "amqp://guest:xxxxx@[::1]:5673/v", u.String())
	assert.Equal(t, "[::1]:5673", u.HostPort())
}

func TestParseBad(t *testing.T) {
	cases := []struct{ raw, part string }{
		{"localhost:5672", "scheme"},
		{"http://u:" + secret + "@h", "scheme"},
		{"amqp://u:" + secret + "@h:99999", "port"},
		{"amqp://u:" + secret + "@h:abc", "port"},
		{"amqp://u:" + secret + "@h:", "port"},
		{"amqp://u:" + secret + "@h:0", "port"},
		{"amqp://[::1", "host"},
		{"amqp://[::1]x", "host"},
		{"amqp://", "host"},
		{"amqp://u:" + secret + "@", "host"},
		{"amqp://u:" + secret + "@h h", "host"},
		{"amqp://h?x=1", "query"},
		{"amqp://u%zz:" + secret + "@h", "userinfo"},
		{"amqp://u:" + secret + "%zz@h", "userinfo"},
		{"amqp://h/%zz", "path"},
	}
	for _, tc := range cases {
		_, err := amqpurl.Parse(tc.raw)
		require.Error(t, err, tc.raw)
		assert.ErrorIs(t, err, errorpolicy.ErrInvalidURL, tc.raw)
		var ue *errorpolicy.URLError
		require.ErrorAs(t, err, &ue, tc.raw)
		assert.Equal(t, tc.part, ue.Part, tc.raw)
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			assert.NotContains(t, text, secret, tc.raw)
		}
	}
}
