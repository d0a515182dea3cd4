package tests

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqp10"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/link"
	"github.com/amqplink/amqplink/message"
)

const secret = "s3cr3t-Pa55word"

// Bad input gets a clear, typed error that errors.Is and errors.As tell apart,
// and the password never appears in an error or a log line.
func TestBadInputErrors(t *testing.T) {
	brokertest.RabbitMQ(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := &amqplink.Options{AMQP10: &amqp10.Options{Logger: logger}}

	closed := freePort(t)
	cases := []struct {
		name  string
		url   string
		is    error
		part  string // URLError.Part, for invalid URLs
		cause error  // a wrapped cause errors.Is must reach
	}{
		{name: "unknown scheme", url: "http://guest:" + secret + "@127.0.0.1:5672", is: errorpolicy.ErrInvalidURL, part: "scheme"},
		{name: "bad port", url: "amqp://guest:" + secret + "@127.0.0.1:99999", is: errorpolicy.ErrInvalidURL, part: "port"},
		{name: "port not a number", url: "amqp://guest:" + secret + "@127.0.0.1:http", is: errorpolicy.ErrInvalidURL, part: "port"},
		{name: "missing host", url: "amqp://guest:" + secret + "@:5672", is: errorpolicy.ErrInvalidURL, part: "host"},
		{name: "refused connection", url: fmt.Sprintf("amqp://guest:%s@127.0.0.1:%d", secret, closed), is: errorpolicy.ErrDialFailed, cause: syscall.ECONNREFUSED},
		{name: "wrong credentials", url: "amqp://guest:" + secret + "@127.0.0.1:5672", is: errorpolicy.ErrUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			start := time.Now()
			c, err := amqplink.Dial(ctx, tc.url, opts)
			if c != nil {
				_ = c.Close(ctx)
			}
			require.Error(t, err)
			assert.Less(t, time.Since(start), 10*time.Second)
			assert.ErrorIs(t, err, tc.is)
			if tc.part != "" {
				var ue *errorpolicy.URLError
				require.ErrorAs(t, err, &ue)
				assert.Equal(t, tc.part, ue.Part)
			}
			if tc.cause != nil {
				assert.ErrorIs(t, err, tc.cause)
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				assert.NotContains(t, text, secret)
			}
		})
	}
	assert.NotContains(t, logs.String(), secret)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func TestMessageLargerThanLinkAllows(t *testing.T) {
	client, admin, _ := rabbit(t)
	ctx := testContext(t)
	q := admin.NewQueue(brokertest.QueueOptions{})
	sess := newSession(t, client)
	snd, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: queueAddress(q.Name), MaxMessageSize: 64 << 10})
	require.NoError(t, err)
	assert.Equal(t, uint64(64<<10), snd.MaxMessageSize(), "RabbitMQ sets no limit, so ours holds")

	_, err = snd.Send(ctx, message.New(make([]byte, 65<<10)), false)
	require.Error(t, err)
	assert.ErrorIs(t, err, errorpolicy.ErrMessageSizeExceeded)
	assert.Equal(t, errorpolicy.Fatal, errorpolicy.ClassOf(err))

	// Near the limit the exact encoded size decides: the body fits, the sections do not.
	near := message.New(make([]byte, (64<<10)-8))
	near.ApplicationProperties = map[string]any{"pad": strings.Repeat("x", 64)}
	_, err = snd.Send(ctx, near, false)
	assert.ErrorIs(t, err, errorpolicy.ErrMessageSizeExceeded)

	r, err := snd.Send(ctx, message.New(make([]byte, 40<<10)), false)
	require.NoError(t, err, "a message within the limit goes through")
	out, err := r.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, message.Accepted{}, out)
	assert.Equal(t, 1, admin.WaitReady(ctx, q.Name, 1), "only the message within the limit was sent")

	// The default limit is 1 MiB.
	def, err := sess.NewSenderLink(ctx, link.SenderOptions{Target: queueAddress(q.Name)})
	require.NoError(t, err)
	_, err = def.Send(ctx, message.New(make([]byte, 1<<20+1)), false)
	assert.ErrorIs(t, err, errorpolicy.ErrMessageSizeExceeded)
}

func TestRabbitMQTLS(t *testing.T) {
	addr, caFile := brokertest.TLSAddr(t)
	ctx := testContext(t)
	pem, err := os.ReadFile(caFile)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem))
	_, port, _ := net.SplitHostPort(addr)

	t.Run("verified", func(t *testing.T) {
		for _, host := range []string{"localhost", "127.0.0.1"} {
			c, err := amqplink.Dial(ctx, "amqps://guest:guest@"+host+":"+port, &amqplink.Options{
				AMQP10: &amqp10.Options{TLSConfig: &tls.Config{RootCAs: roots}},
			})
			require.NoError(t, err, host)
			admin := brokertest.NewAdmin(t, brokertest.RabbitMQ(t))
			sess, err := c.NewSession(ctx, nil)
			require.NoError(t, err)
			requireWorks(t, sess, admin)
			require.NoError(t, c.Close(ctx))
		}
	})
	t.Run("wrong server name", func(t *testing.T) {
		_, err := amqplink.Dial(ctx, "amqps://guest:guest@127.0.0.1:"+port, &amqplink.Options{
			AMQP10: &amqp10.Options{TLSConfig: &tls.Config{RootCAs: roots, ServerName: "wrong.example"}},
		})
		require.Error(t, err)
		assert.ErrorIs(t, err, errorpolicy.ErrTLSVerify)
		assert.Equal(t, errorpolicy.Fatal, errorpolicy.ClassOf(err))
	})
	t.Run("unknown authority", func(t *testing.T) {
		_, err := amqplink.Dial(ctx, "amqps://guest:guest@localhost:"+port, nil)
		require.Error(t, err)
		assert.ErrorIs(t, err, errorpolicy.ErrTLSVerify)
	})
	t.Run("TLS config with amqp scheme", func(t *testing.T) {
		_, err := amqplink.Dial(ctx, "amqp://127.0.0.1:5672", &amqplink.Options{
			AMQP10: &amqp10.Options{TLSConfig: &tls.Config{RootCAs: roots}},
		})
		assert.ErrorIs(t, err, errorpolicy.ErrInvalidOption)
	})
}
