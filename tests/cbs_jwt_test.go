package tests

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink"
	"github.com/amqplink/amqplink/amqptest"
	cbsaz "github.com/amqplink/amqplink/cbs/azidentity"
	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/receiver"
)

// fakeCredential is an azcore.TokenCredential that mints numbered tokens
// valid for life, with no network, and remembers the scopes asked for.
type fakeCredential struct {
	life time.Duration
	fail error

	mu     sync.Mutex
	issued map[string]time.Time
	scopes []string
}

func (f *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return azcore.AccessToken{}, f.fail
	}
	f.scopes = append(f.scopes, o.Scopes...)
	tok := "jwt-" + strconv.Itoa(len(f.issued))
	exp := time.Now().Add(f.life)
	if f.issued == nil {
		f.issued = map[string]time.Time{}
	}
	f.issued[tok] = exp
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
}

// check is the server's side: only tokens this credential issued are valid.
func (f *fakeCredential) check(token, _ string) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.issued[token]
	if !ok {
		return time.Time{}, errors.New("unknown token")
	}
	return exp, nil
}

func (f *fakeCredential) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.issued)
}

func TestCBSJWTFromATokenCredential(t *testing.T) {
	cred := &fakeCredential{life: 2 * time.Second}
	srv := amqptest.NewTestServer(t, &amqptest.Options{CheckJWT: cred.check})
	c := dialWith(t, srv.URL(), &amqplink.Options{TokenProvider: cbsaz.NewProvider(cred, cbsaz.ServiceBusScope)})
	ctx := testContext(t)
	r, err := receiver.New(ctx, newSession(t, c), "orders", nil)
	require.NoError(t, err)
	closeAtCleanup(t, r.Close)

	for i := range 30 { // 3 s: past the first token's expiry
		srv.Put("orders", []byte(strconv.Itoa(i)))
		d, err := r.Receive(ctx)
		require.NoError(t, err)
		require.NoError(t, d.Accept(ctx))
		time.Sleep(100 * time.Millisecond)
	}
	assert.Zero(t, r.Stats().Recoveries, "refreshed before expiry")
	assert.GreaterOrEqual(t, cred.count(), 2, "the credential was asked again before the first token expired")
	cred.mu.Lock()
	assert.Equal(t, cbsaz.ServiceBusScope, cred.scopes[0])
	cred.mu.Unlock()
}

func TestCBSCredentialFailureIsFatal(t *testing.T) {
	cred := &fakeCredential{life: time.Hour, fail: errors.New("no identity here")}
	srv := amqptest.NewTestServer(t, &amqptest.Options{CheckJWT: cred.check})
	c := dialWith(t, srv.URL(), &amqplink.Options{TokenProvider: cbsaz.NewProvider(cred, cbsaz.EventHubsScope)})
	_, err := receiver.New(testContext(t), newSession(t, c), "orders", nil)
	require.ErrorIs(t, err, errorpolicy.ErrUnauthorized)
	assert.True(t, strings.Contains(err.Error(), "credential"), "%v", err)
	assert.Equal(t, errorpolicy.Fatal, errorpolicy.ClassOf(err))
}
