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
	var d net.Dialer
	if !u.TLS() {
		c, err := d.DialContext(ctx, "tcp", u.HostPort())
		if err != nil {
			return nil, Error(err, "dial")
		}
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
	td := tls.Dialer{NetDialer: &d, Config: cfg}
	c, err := td.DialContext(ctx, "tcp", u.HostPort())
	if err != nil {
		return nil, Error(err, "dial")
	}
	return c, nil
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
