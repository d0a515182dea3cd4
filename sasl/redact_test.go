package sasl_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/amqplink/amqplink/sasl"
)

func TestSecretsNeverPrinted(t *testing.T) {
	const secret = "s3cr3t-T0ken"
	for _, m := range []sasl.Mechanism{
		sasl.Plain{Username: "guest", Password: secret},
		sasl.XOAUTH2{Username: "guest", Token: secret},
		sasl.AMQPlain{Username: "guest", Password: secret},
	} {
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("connecting", "sasl", m)
		slog.New(slog.NewTextHandler(&logs, nil)).Info("connecting", "sasl", m)
		for _, text := range []string{
			m.String(), fmt.Sprint(m), fmt.Sprintf("%v|%+v|%#v|%s|%q", m, m, m, m, m), logs.String(),
		} {
			assert.NotContains(t, text, secret, m.Name())
			assert.Contains(t, text, "guest", "the user name is not a secret")
		}
	}
}

func TestNames(t *testing.T) {
	assert.Equal(t, "PLAIN", sasl.Plain{}.Name())
	assert.Equal(t, "ANONYMOUS", sasl.Anonymous{}.Name())
	assert.Equal(t, "EXTERNAL", sasl.External{}.Name())
	assert.Equal(t, "XOAUTH2", sasl.XOAUTH2{}.Name())
	assert.Equal(t, "AMQPLAIN", sasl.AMQPlain{}.Name())
}
