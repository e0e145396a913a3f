package devidp

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rules of a login against the register, in one place for every login
// that checks one: the gateway's development login and the development
// OpenID provider (devidp/provider).

// ValidName accepts names as the real-name register writes them: Han
// characters, or letters of any script, with the separators of minority
// and foreign names (· • ・ space - . ').
func ValidName(s string) bool {
	if s == "" || len(s) > 256 || !utf8.ValidString(s) || utf8.RuneCountInString(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.Is(unicode.Mn, r):
		case strings.ContainsRune("·•・ -.'", r):
		default:
			return false
		}
	}
	return true
}

var mobilePattern = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// NormalisePhone returns the 11-digit mainland mobile number of s, which
// may carry a +86 or 86 prefix and spaces or hyphens between digits.
func NormalisePhone(s string) (string, bool) {
	if len(s) > 32 {
		return "", false
	}
	s = strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s))
	if len(s) == 14 && strings.HasPrefix(s, "+86") {
		s = s[3:]
	} else if len(s) == 13 && strings.HasPrefix(s, "86") {
		s = s[2:]
	}
	return s, mobilePattern.MatchString(s)
}

// Matches reports whether the name and phone typed in (trimmed and
// normalised) are the register's entry e, comparing both whether or not
// the ID number was found, in time that does not depend on where they
// differ: an unknown ID number and a mismatch cost the same work.
func Matches(name, phone string, e Entry, found bool) bool {
	regName, regPhone := e.Name, e.Phone
	if !found {
		regName, regPhone = "\x00", "\x00"
	}
	regPhone, _ = NormalisePhone(regPhone)
	n := subtle.ConstantTimeCompare([]byte(name), []byte(strings.TrimSpace(regName)))
	p := subtle.ConstantTimeCompare([]byte(phone), []byte(regPhone))
	return n&p == 1 && found
}

// OneTimeCode returns six random decimal digits from crypto/rand.
func OneTimeCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("devidp: one-time code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}
