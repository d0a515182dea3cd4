package amqp10_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqp10"
	"github.com/amqplink/amqplink/sasl"
)

// When go-amqp refuses the options before its handshake starts (an XOAUTH2
// token with a trailing newline, say), it does not close the connection; Dial does.
func TestDialClosesItsConnectionWhenGoAMQPRefusesTheOptions(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	_, err := amqp10.Dial(testCtx(t), "amqp://anyhost", &amqp10.Options{
		SASL: sasl.XOAUTH2{Username: "u", Token: "tok\n"},
		Dial: func(context.Context) (net.Conn, error) { return client, nil }})
	require.Error(t, err)
	t.Logf("Dial: %v", err)
	_ = server.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, rerr := server.Read(make([]byte, 1))
	require.ErrorIs(t, rerr, io.EOF, "the connection Dial made was left open (and its flusher running)")
}
