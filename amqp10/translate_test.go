package amqp10

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"

	amqp "github.com/Azure/go-amqp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
)

func TestTranslate(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		scope  errorpolicy.Scope // the call's scope
		is     error
		class  errorpolicy.Class
		wantSc errorpolicy.Scope
		remote bool
	}{
		{"peer detached the link", &amqp.LinkError{RemoteErr: &amqp.Error{Condition: amqp.ErrCondDetachForced, Description: "idle"}},
			errorpolicy.ScopeLink, errorpolicy.ErrDetachForced, errorpolicy.RecoverLink, errorpolicy.ScopeLink, true},
		{"peer closed the connection", &amqp.ConnError{RemoteErr: &amqp.Error{Condition: amqp.ErrCondConnectionForced}},
			errorpolicy.ScopeLink, errorpolicy.ErrConnectionForced, errorpolicy.RecoverConn, errorpolicy.ScopeConn, true},
		{"refused attach", &amqp.Error{Condition: amqp.ErrCondNotFound, Description: "no queue"},
			errorpolicy.ScopeLink, errorpolicy.ErrNotFound, errorpolicy.Fatal, errorpolicy.ScopeLink, true},
		{"unknown condition on a link", &amqp.LinkError{RemoteErr: &amqp.Error{Condition: "vendor:odd"}},
			errorpolicy.ScopeLink, nil, errorpolicy.RecoverLink, errorpolicy.ScopeLink, true},
		{"unknown condition on a connection", &amqp.ConnError{RemoteErr: &amqp.Error{Condition: "vendor:odd"}},
			errorpolicy.ScopeConn, nil, errorpolicy.RecoverConn, errorpolicy.ScopeConn, true},
		{"unknown condition on an operation", &amqp.Error{Condition: "vendor:odd"},
			errorpolicy.ScopeNone, nil, errorpolicy.Fatal, errorpolicy.ScopeNone, true},
		{"message too large, raised locally", &amqp.Error{Condition: amqp.ErrCondMessageSizeExceeded},
			errorpolicy.ScopeNone, errorpolicy.ErrMessageSizeExceeded, errorpolicy.Fatal, errorpolicy.ScopeNone, false},
		{"session ended by the peer", &amqp.SessionError{RemoteErr: &amqp.Error{Condition: amqp.ErrCondInternalError}},
			errorpolicy.ScopeLink, errorpolicy.ErrInternalError, errorpolicy.RecoverConn, errorpolicy.ScopeSession, true},
		{"link closed locally", &amqp.LinkError{},
			errorpolicy.ScopeLink, errorpolicy.ErrClosed, errorpolicy.Fatal, errorpolicy.ScopeLink, false},
		{"connection closed locally", &amqp.ConnError{},
			errorpolicy.ScopeConn, errorpolicy.ErrClosed, errorpolicy.Fatal, errorpolicy.ScopeConn, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := translate(tc.err, tc.scope)
			var e *errorpolicy.Error
			require.ErrorAs(t, err, &e)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Equal(t, tc.class, e.Class)
			assert.Equal(t, tc.wantSc, e.Scope)
			assert.Equal(t, tc.remote, e.Remote)
			assert.True(t, errors.Is(err, tc.err) || errors.As(err, new(*amqp.Error)), "the wire error stays reachable")
		})
	}
}

func TestTranslatePassesContextErrorsThrough(t *testing.T) {
	assert.Nil(t, translate(nil, errorpolicy.ScopeLink))
	assert.Equal(t, context.Canceled, translate(context.Canceled, errorpolicy.ScopeLink))
	already := errorpolicy.New(errorpolicy.CondClosed, "x", nil)
	assert.Same(t, already, translate(already, errorpolicy.ScopeLink))
}

func TestDialErrors(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	err := dialError(refused, "dial")
	assert.ErrorIs(t, err, errorpolicy.ErrDialFailed)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Equal(t, errorpolicy.RecoverConn, errorpolicy.ClassOf(err))

	err = dialError(x509.UnknownAuthorityError{}, "dial")
	assert.ErrorIs(t, err, errorpolicy.ErrTLSVerify)
	assert.Equal(t, errorpolicy.Fatal, errorpolicy.ClassOf(err))

	err = dialError(errors.New("SASL PLAIN auth failed with code 0x1: "), "handshake")
	assert.ErrorIs(t, err, errorpolicy.ErrUnauthorized)
	assert.Equal(t, errorpolicy.Fatal, errorpolicy.ClassOf(err))

	assert.Equal(t, context.DeadlineExceeded, dialError(context.DeadlineExceeded, "dial"))
	assert.ErrorIs(t, dialError(errors.New("unexpected protocol header"), "handshake"), errorpolicy.ErrProtocol)
}

func TestQuirkDetection(t *testing.T) {
	assert.True(t, detectQuirks(map[string]any{"product": "RabbitMQ", "version": "3.10.8"}).nonClosingDetach)
	assert.False(t, detectQuirks(map[string]any{"product": "RabbitMQ", "version": "4.1.0"}).nonClosingDetach)
	assert.False(t, detectQuirks(nil).nonClosingDetach)
}
