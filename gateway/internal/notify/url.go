package notify

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// MaxURLLength bounds a webhook URL.
const MaxURLLength = 2048

// ErrURLNotAllowed reports a webhook URL the gateway will not deliver to.
var ErrURLNotAllowed = errors.New("webhook URL not allowed")

// CheckURL checks a webhook URL: an absolute https URL with a host, no user
// information and no fragment. In development mode (dev) http is allowed
// too, to the loopback interface only (127.0.0.1, ::1, localhost). Errors
// wrap ErrURLNotAllowed and say why without repeating the URL.
func CheckURL(raw string, dev bool) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrURLNotAllowed, why) }
	if raw == "" || len(raw) > MaxURLLength {
		return bad(fmt.Sprintf("a URL of 1–%d bytes is required", MaxURLLength))
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return bad("not an absolute URL")
	}
	if u.User != nil {
		return bad("user information is not allowed")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("a fragment is not allowed")
	}
	host := u.Hostname()
	if host == "" {
		return bad("a host is required")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !dev {
			return bad("https is required")
		}
		if !isLoopbackHost(host) {
			return bad("http is allowed to the loopback interface only (development mode)")
		}
	default:
		return bad("the scheme must be https")
	}
	if ip := net.ParseIP(host); ip != nil && forbiddenIP(ip) {
		return bad("link-local, multicast and unspecified addresses are not allowed")
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// forbiddenIP reports addresses a webhook is never delivered to, whatever
// the host name resolved to: link-local (the cloud metadata service lives
// there), multicast and unspecified addresses.
func forbiddenIP(ip net.IP) bool {
	return ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified()
}

// dialControl refuses connections to forbidden addresses after name
// resolution, so a host name cannot point a webhook at them.
func dialControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || forbiddenIP(ip) {
		return fmt.Errorf("%w: address not allowed", ErrURLNotAllowed)
	}
	return nil
}
