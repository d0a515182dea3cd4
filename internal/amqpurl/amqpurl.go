// Package amqpurl parses amqp:// and amqps:// URLs for both drivers. It never puts
// the password in an error or in String, unlike net/url's parse errors, which quote
// the whole URL.
package amqpurl

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/amqplink/amqplink/errorpolicy"
)

// URL is a parsed broker address.
type URL struct {
	// Scheme is "amqp" or "amqps".
	Scheme string
	// Host is the host name or IP address, without brackets.
	Host string
	// Port is the TCP port: the URL's, or 5672 for amqp and 5671 for amqps.
	Port int
	// Username is the decoded user name; empty when the URL has no user info.
	Username string
	// Path is the decoded path without its leading slash (the virtual host).
	Path string
	// PortGiven is true when the URL named its port.
	PortGiven bool
	// HasUserInfo is true when the URL carried user info, even an empty one.
	HasUserInfo bool

	password string
}

// Password returns the decoded password.
func (u *URL) Password() string { return u.password }

// TLS reports whether the scheme asks for TLS.
func (u *URL) TLS() bool { return u.Scheme == "amqps" }

// HostPort returns "host:port", bracketing IPv6 addresses.
func (u *URL) HostPort() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)) }

// String returns the URL with the password replaced by "xxxxx".
func (u *URL) String() string {
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.HasUserInfo {
		b.WriteString(url.User(u.Username).String())
		if u.password != "" {
			b.WriteString(":xxxxx")
		}
		b.WriteString("@")
	}
	b.WriteString(u.HostPort())
	if u.Path != "" {
		b.WriteString("/")
		b.WriteString(url.PathEscape(u.Path))
	}
	return b.String()
}

// Parse parses raw. Errors are *errorpolicy.Error with CondInvalidURL wrapping an
// *errorpolicy.URLError that names the bad part; they never contain the password.
func Parse(raw string) (*URL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, errorpolicy.InvalidURL("scheme", `missing "amqp://" or "amqps://"`)
	}
	u := &URL{Scheme: strings.ToLower(scheme)}
	switch u.Scheme {
	case "amqp":
		u.Port = 5672
	case "amqps":
		u.Port = 5671
	default:
		return nil, errorpolicy.InvalidURL("scheme", strconv.Quote(scheme)+` is not "amqp" or "amqps"`)
	}

	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		return nil, errorpolicy.InvalidURL("query", "query parameters and fragments are not supported; use Options")
	}
	// The authority ends at the first '/' after the user info, so an unescaped '/'
	// in a password does not split the URL there (and leak into an error).
	authority, path := rest, ""
	userEnd := max(strings.LastIndexByte(rest, '@'), 0)
	if i := strings.IndexByte(rest[userEnd:], '/'); i >= 0 {
		authority, path = rest[:userEnd+i], rest[userEnd+i+1:]
	}
	if path != "" {
		p, err := url.PathUnescape(path)
		if err != nil {
			return nil, errorpolicy.InvalidURL("path", "invalid percent-encoding")
		}
		u.Path = p
	}

	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		u.HasUserInfo = true
		user, pass, _ := strings.Cut(authority[:at], ":")
		var err error
		if u.Username, err = url.PathUnescape(user); err != nil {
			return nil, errorpolicy.InvalidURL("userinfo", "invalid percent-encoding in the user name")
		}
		if u.password, err = url.PathUnescape(pass); err != nil {
			return nil, errorpolicy.InvalidURL("userinfo", "invalid percent-encoding in the password")
		}
		authority = authority[at+1:]
	}

	host, port := authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return nil, errorpolicy.InvalidURL("host", "unclosed '[' in an IPv6 address")
		}
		host = authority[1:end]
		switch after := authority[end+1:]; {
		case after == "":
		case after[0] == ':':
			port = after[1:]
			if port == "" {
				return nil, errorpolicy.InvalidURL("port", "empty port after ':'")
			}
		default:
			return nil, errorpolicy.InvalidURL("host", "unexpected text after the IPv6 address")
		}
	} else if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		host, port = authority[:i], authority[i+1:]
		if port == "" {
			return nil, errorpolicy.InvalidURL("port", "empty port after ':'")
		}
	}
	if host == "" {
		return nil, errorpolicy.InvalidURL("host", "missing host")
	}
	if strings.ContainsAny(host, " \t\r\n%/\\") {
		return nil, errorpolicy.InvalidURL("host", "invalid character in host "+strconv.Quote(host))
	}
	u.Host = host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, errorpolicy.InvalidURL("port", strconv.Quote(port)+" is not a port number (1-65535)")
		}
		u.Port, u.PortGiven = n, true
	}
	return u, nil
}
