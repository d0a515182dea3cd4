package amqptest_test

import (
	"strings"
	"sync"
	"testing"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/amqptest"
)

func TestTraceShowsEveryFrameOnOneLine(t *testing.T) {
	var mu sync.Mutex
	var frames []amqptest.Frame
	srv := amqptest.NewTestServer(t, &amqptest.Options{
		Users:     map[string]string{"alice": "secret"},
		TraceLast: 1000,
		Trace: func(f amqptest.Frame) {
			mu.Lock()
			defer mu.Unlock()
			frames = append(frames, f)
		},
	})
	c, err := amqp.NewConn(testCtx(t), srv.Pipe(), &amqp.ConnOptions{SASLType: amqp.SASLTypePlain("alice", "secret")})
	require.NoError(t, err)
	ctx := testCtx(t)
	s, err := c.NewSession(ctx, nil)
	require.NoError(t, err)
	snd, err := s.NewSender(ctx, "q", nil)
	require.NoError(t, err)
	require.NoError(t, snd.Send(ctx, amqp.NewMessage([]byte("hello")), nil))
	require.NoError(t, c.Close())
	srv.Close() // waits for the server's goroutines, so the trace is complete

	text := srv.Trace()
	t.Log("\n" + text)
	for _, want := range []string{
		"c1 C->S ch0 header(sasl)",
		"c1 S->C ch0 sasl-mechanisms(PLAIN)",
		"c1 C->S ch0 sasl-init(mechanism=PLAIN)",
		"c1 S->C ch0 sasl-outcome(code=ok)",
		"c1 C->S ch0 header(amqp)",
		"c1 C->S ch0 open(container=",
		"c1 C->S ch0 begin(",
		"c1 C->S ch0 attach(name=",
		"role=sender snd=mixed rcv=first",
		"target=q",
		"c1 S->C ch0 flow(handle=0 delivery-count=0 credit=1000",
		"c1 C->S ch0 transfer(handle=0 id=0 tag=",
		"c1 S->C ch0 disposition(role=receiver first=0 settled state=accepted)",
		"c1 C->S ch0 close()",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "secret", "no credentials in the trace")

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, strings.Count(text, "\n"), len(frames), "the callback saw what Trace kept")
	var transfer amqptest.Frame
	for _, f := range frames {
		if strings.HasPrefix(f.Performative, "transfer(") {
			transfer = f
		}
	}
	assert.False(t, transfer.Sent)
	assert.Equal(t, 1, transfer.Conn)
	assert.Greater(t, transfer.Payload, len("hello"), "the encoded message")
}

func TestTraceKeepsOnlyTheLastFrames(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{TraceLast: 3})
	c, err := amqp.NewConn(testCtx(t), srv.Pipe(), nil)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	srv.Close()
	lines := strings.Split(strings.TrimSuffix(srv.Trace(), "\n"), "\n")
	require.Len(t, lines, 4, srv.Trace())
	assert.Regexp(t, `^… \d+ earlier frames not kept$`, lines[0])
	assert.Contains(t, lines[3], "close()", "the newest last")
}

func TestTraceOffByDefault(t *testing.T) {
	srv := amqptest.NewTestServer(t, nil)
	_, _ = dial(t, srv, nil)
	assert.Contains(t, srv.Trace(), "set Options.TraceLast")
}
