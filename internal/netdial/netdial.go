// Package netdial makes the TCP (and TLS) connection both drivers speak over, so
// that refused connections and certificate failures come back as the same typed
// errors whichever protocol runs on top, and SNI is always the dialled host.
package netdial

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"

	"github.com/amqplink/amqplink/errorpolicy"
	"github.com/amqplink/amqplink/internal/amqpurl"
)

// Dial connects to u's host and port, with TLS for amqps:// (tlsConfig is cloned;
// ServerName defaults to u's host, MinVersion to TLS 1.2), bounded by ctx.
func Dial(ctx context.Context, u *amqpurl.URL, tlsConfig *tls.Config) (net.Conn, error) {
	return DialVia(ctx, u, tlsConfig, nil)
}

// DialVia is Dial over a connection that dial makes instead of a TCP one to
// u's host (nil: TCP). TLS still follows u's scheme, so a custom dialer cannot
// turn an amqps:// URL into plain text by accident.
func DialVia(ctx context.Context, u *amqpurl.URL, tlsConfig *tls.Config, dial func(context.Context) (net.Conn, error)) (net.Conn, error) {
	if dial == nil {
		var d net.Dialer
		dial = func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", u.HostPort()) }
	}
	c, err := dial(ctx)
	if err == nil && c == nil {
		err = errors.New("the dialer returned no connection")
	}
	if err != nil {
		return nil, Error(err, "dial")
	}
	if !u.TLS() {
		return c, nil
	}
	cfg := &tls.Config{}
	if tlsConfig != nil {
		cfg = tlsConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, Error(err, "dial")
	}
	return tc, nil
}

// Error classifies a failure to connect at stage ("dial", "handshake"): the
// context's own error as is, certificate failures as ErrTLSVerify, network
// errors (and anything at the dial stage) as ErrDialFailed. It returns nil for
// any other error, which the driver classifies itself.
func Error(err error, stage string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) {
		return errorpolicy.New(errorpolicy.CondTLSVerify, "the server certificate did not verify", err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || stage == "dial" {
		return errorpolicy.New(errorpolicy.CondDialFailed, stage+" failed", err)
	}
	return nil
}
