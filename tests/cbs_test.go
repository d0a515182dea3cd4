package tests

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqptest"
	"github.com/amqplink/amqplink/cbs"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/brokertest"
	"github.com/amqplink/amqplink/message"
	"github.com/amqplink/amqplink/receiver"
	"github.com/amqplink/amqplink/sender"
)

var sasKeys = map[string]string{"RootManageSharedAccessKey": "c2VjcmV0LWtleS1mb3ItdGVzdHM="}

func cbsClient(t *testing.T, srv *amqptest.Server, p cbs.TokenProvider) *amqplink.Client {
	t.Helper()
	return dialWith(t, srv.URL(), &amqplink.Options{TokenProvider: p})
}

// A receiver whose tokens live 2 seconds keeps receiving: the refresher puts
// new ones before each expires, and the server would detach the link otherwise.
func TestCBSRefreshKeepsAShortLivedTokenAlive(t *testing.T) {
	run := 6 * time.Second
	if os.Getenv(brokertest.EnvRequire) == "1" {
		run = 30 * time.Second // the figure, under make test-all
	}
	srv := amqptest.NewTestServer(t, &amqptest.Options{SASKeys: sasKeys})
	key := &cbs.SASKey{KeyName: "RootManageSharedAccessKey", Key: sasKeys["RootManageSharedAccessKey"], Lifetime: 2 * time.Second}
	c := cbsClient(t, srv, key)
	sess := newSession(t, c)
	ctx := testContext(t)
	if run > 20*time.Second {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), run+30*time.Second)
		defer cancel()
	}
	r, err := receiver.New(ctx, sess, "orders", nil)
	require.NoError(t, err)
	closeAtCleanup(t, r.Close)

	deadline := time.Now().Add(run)
	put := 0
	for time.Now().Before(deadline) {
		srv.Put("orders", []byte(strconv.Itoa(put)))
		put++
		d, err := r.Receive(ctx)
		require.NoError(t, err, "after %v", run-time.Until(deadline))
		require.Equal(t, strconv.Itoa(put-1), string(d.Message.Body.Data[0]))
		require.NoError(t, d.Accept(ctx))
		time.Sleep(100 * time.Millisecond)
	}
	assert.Zero(t, r.Stats().Recoveries, "the link was never detached for an expired token")
	t.Logf("received %d messages over %v with 2 s tokens", put, run)
}

func TestCBSWrongKeyFailsFastWithAnAuthError(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{SASKeys: sasKeys})
	c := cbsClient(t, srv, &cbs.SASKey{KeyName: "RootManageSharedAccessKey", Key: "wrong"})
	sess := newSession(t, c)
	start := time.Now()
	_, err := receiver.New(testContext(t), sess, "orders", nil)
	require.ErrorIs(t, err, errorpolicy.ErrUnauthorized)
	var se *cbs.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 401, se.Code)
	assert.Equal(t, errorpolicy.Fatal, errorpolicy.ClassOf(err), "no retry loop")
	assert.Less(t, time.Since(start), time.Second)

	_, err = sender.New(testContext(t), sess, "orders", nil)
	require.ErrorIs(t, err, errorpolicy.ErrUnauthorized)
}

func TestCBSLinksWithoutATokenAreRefused(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{SASKeys: sasKeys})
	sess := newSession(t, dial(t, srv.URL()))
	_, err := sender.New(testContext(t), sess, "orders", nil)
	require.ErrorIs(t, err, errorpolicy.ErrUnauthorized)
}

func TestCBSSenderAndFixedToken(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{SASKeys: sasKeys})
	// A token for the whole namespace covers every entity.
	tok := cbs.SignSAS("amqp://"+srv.Addr().String(), "RootManageSharedAccessKey", sasKeys["RootManageSharedAccessKey"], time.Now().Add(time.Hour))
	c := cbsClient(t, srv, &cbs.SASToken{Signature: tok})
	s, err := sender.New(testContext(t), newSession(t, c), "orders", nil)
	require.NoError(t, err)
	closeAtCleanup(t, s.Close)
	_, err = s.Send(testContext(t), message.NewText("authorized"))
	require.NoError(t, err)
	q, _ := srv.Queue("orders")
	assert.Equal(t, 1, q.Ready)
}

// A connection string pointing at the embedded broker (as the Service Bus
// emulator's do) gives the URL and the token provider.
func TestCBSFromAConnectionString(t *testing.T) {
	srv := amqptest.NewTestServer(t, &amqptest.Options{SASKeys: sasKeys})
	cs, err := cbs.ParseConnectionString("Endpoint=sb://" + srv.Addr().String() +
		"/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=" + sasKeys["RootManageSharedAccessKey"] +
		";EntityPath=orders;UseDevelopmentEmulator=true")
	require.NoError(t, err)
	c := dialWith(t, cs.URL(), &amqplink.Options{TokenProvider: cs.TokenProvider()})
	s, err := sender.New(testContext(t), newSession(t, c), cs.EntityPath, nil)
	require.NoError(t, err)
	closeAtCleanup(t, s.Close)
	_, err = s.Send(testContext(t), message.NewText("via a connection string"))
	require.NoError(t, err)
	q, _ := srv.Queue("orders")
	assert.Equal(t, 1, q.Ready)
}
