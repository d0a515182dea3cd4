package errorpolicy_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/amqplink/amqplink/errorpolicy"
)

func TestIsMatchesByConditionOnly(t *testing.T) {
	err := &errorpolicy.Error{Condition: errorpolicy.CondNotFound, Description: "no queue 'x'", Scope: errorpolicy.ScopeLink, Remote: true}
	wrapped := fmt.Errorf("attaching: %w", err)
	assert.ErrorIs(t, wrapped, errorpolicy.ErrNotFound)
	assert.NotErrorIs(t, wrapped, errorpolicy.ErrUnauthorized)
	assert.NotErrorIs(t, wrapped, &errorpolicy.Error{}, "an empty condition matches nothing")

	var e *errorpolicy.Error
	require.ErrorAs(t, wrapped, &e)
	assert.Equal(t, errorpolicy.ScopeLink, e.Scope)
}

func TestUnwrapReachesTheCause(t *testing.T) {
	op := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	err := errorpolicy.New(errorpolicy.CondDialFailed, "dial failed", op)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.ErrorIs(t, err, errorpolicy.ErrDialFailed)
	assert.Equal(t, errorpolicy.RecoverConn, err.Class)
	assert.Contains(t, err.Error(), "connection refused", "a local error shows its cause")
}

func TestErrorText(t *testing.T) {
	err := &errorpolicy.Error{Condition: errorpolicy.CondDetachForced, Description: "idle", Scope: errorpolicy.ScopeLink, Remote: true, Err: errors.New("wire text")}
	assert.Equal(t, "amqplink: link amqp:link:detach-forced: idle", err.Error(), "a peer's error is not repeated by the wire library's text")
	local := errorpolicy.New(errorpolicy.CondClosed, "session is closed", nil)
	assert.Equal(t, "amqplink: amqplink:closed: session is closed", local.Error())
}

func TestClassOf(t *testing.T) {
	cases := []struct {
		err  error
		want errorpolicy.Class
	}{
		{context.Canceled, errorpolicy.Canceled},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), errorpolicy.Canceled},
		{&errorpolicy.Error{Condition: errorpolicy.CondServerBusy, Class: errorpolicy.Retry}, errorpolicy.Retry},
		{io.EOF, errorpolicy.RecoverConn},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, errorpolicy.RecoverConn},
		{x509.UnknownAuthorityError{}, errorpolicy.Fatal},
		{errors.New("something nobody knows"), errorpolicy.Fatal},
		{nil, errorpolicy.Fatal},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, errorpolicy.ClassOf(tc.err), "%v", tc.err)
	}
	assert.True(t, errorpolicy.IsRetriable(io.EOF))
	assert.False(t, errorpolicy.IsRetriable(context.Canceled))
}

func TestDefaultClassTable(t *testing.T) {
	for cond, want := range map[errorpolicy.Condition]errorpolicy.Class{
		errorpolicy.CondServerBusy:       errorpolicy.Retry,
		errorpolicy.CondDetachForced:     errorpolicy.RecoverLink,
		errorpolicy.CondConnectionForced: errorpolicy.RecoverConn,
		errorpolicy.CondInternalError:    errorpolicy.RecoverConn, // RabbitMQ 3.10's crashed session process
		errorpolicy.CondNotFound:         errorpolicy.Fatal,
		errorpolicy.CondOutcomeUnknown:   errorpolicy.Fatal,
		"vendor:never-heard-of-it":       errorpolicy.Fatal,
	} {
		assert.Equal(t, want, errorpolicy.DefaultClass(cond), cond)
	}
	assert.False(t, errorpolicy.Known("vendor:never-heard-of-it"))
	table := errorpolicy.Classes()
	table[errorpolicy.CondNotFound] = errorpolicy.Retry
	assert.Equal(t, errorpolicy.Fatal, errorpolicy.DefaultClass(errorpolicy.CondNotFound), "Classes returns a copy")
	assert.True(t, errorpolicy.CondClosed.Local())
	assert.False(t, errorpolicy.CondNotFound.Local())
}

func TestNames(t *testing.T) {
	assert.Equal(t, "recover-link", errorpolicy.RecoverLink.String())
	assert.Equal(t, "class(42)", errorpolicy.Class(42).String())
	assert.Equal(t, "connection", errorpolicy.ScopeConn.String())
	assert.Equal(t, "scope(9)", errorpolicy.Scope(9).String())
}

func TestInvalidURL(t *testing.T) {
	err := errorpolicy.InvalidURL("port", `"x" is not a port number`)
	assert.ErrorIs(t, err, errorpolicy.ErrInvalidURL)
	var ue *errorpolicy.URLError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "port", ue.Part)
	assert.Equal(t, errorpolicy.Fatal, err.Class)
	assert.ErrorIs(t, errorpolicy.InvalidOption("x"), errorpolicy.ErrInvalidOption)
}
