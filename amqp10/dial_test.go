package amqp10_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqp10"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/errorpolicy"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDialHookReplacesTheNetwork(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{PipeOnly: true, Users: map[string]string{"u": "p"}})
	c, err := amqp10.Dial(testCtx(t), "amqp://u:p@anyhost/", &amqp10.Options{Dial: srv.Dial})
	require.NoError(t, err, "the URL's credentials still apply")
	require.NoError(t, c.Close(testCtx(t)), "a pipe closes as cleanly as a socket")
}

func TestDialHookErrorsAreDialFailures(t *testing.T) {
	boom := errors.New("boom")
	_, err := amqp10.Dial(testCtx(t), "amqp://anyhost", &amqp10.Options{
		Dial: func(context.Context) (net.Conn, error) { return nil, boom }})
	require.ErrorIs(t, err, errorpolicy.ErrDialFailed)
	assert.ErrorIs(t, err, boom)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = amqp10.Dial(ctx, "amqp://anyhost", &amqp10.Options{
		Dial: func(ctx context.Context) (net.Conn, error) { return nil, ctx.Err() }})
	require.ErrorIs(t, err, context.Canceled, "the context's own error as is")
}

// With amqps:// the scheme still asks for TLS, and it runs over the dialer's
// connection: the peer's first bytes are a TLS handshake record.
func TestDialHookCarriesTLSForAmqps(t *testing.T) {
	client, server := net.Pipe()
	first := make(chan []byte, 1)
	go func() {
		defer server.Close()
		b := make([]byte, 3)
		_, _ = io.ReadFull(server, b)
		first <- b
	}()
	_, err := amqp10.Dial(testCtx(t), "amqps://anyhost", &amqp10.Options{
		Dial: func(context.Context) (net.Conn, error) { return client, nil }})
	require.ErrorIs(t, err, errorpolicy.ErrDialFailed)
	b := <-first
	assert.Equal(t, byte(0x16), b[0], "a handshake record")
	assert.Equal(t, byte(0x03), b[1], "TLS")
}
