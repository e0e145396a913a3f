// Package resident checks resident identity numbers (公民身份号码, GB
// 11643-1999), the only personal identifier the gateways accept: they
// turn it into a citizenRef and never store, log or send it on.
package resident

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Citizen ID numbers (公民身份号码) follow GB 11643-1999: 18 characters,
//
//	RRRRRR YYYYMMDD SSS C
//
// a 6-digit administrative region code (GB/T 2260) of the place of first
// registration, the date of birth, a 3-digit sequence number whose last
// digit is odd for men and even for women, and a check character computed
// with ISO 7064 MOD 11-2 over the first 17 digits: 0–9, or X for 10.

// Errors of Valid, wrapped with a description that never repeats
// the number itself. Compare with [errors.Is].
var (
	ErrIDLength   = errors.New("resident: ID number must be 18 characters")
	ErrIDSyntax   = errors.New("resident: ID number must be 17 digits and a digit or X")
	ErrIDRegion   = errors.New("resident: ID number has an unknown province code")
	ErrIDDate     = errors.New("resident: ID number has an invalid date of birth")
	ErrIDChecksum = errors.New("resident: ID number check character is wrong")
)

// idWeights are the ISO 7064 MOD 11-2 weights 2^(17−i) mod 11 of the first
// 17 digits.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheckChars maps the weighted sum mod 11 to the check character.
const idCheckChars = "10X98765432"

// provinces are the first two digits of the region codes in use (GB/T 2260):
// the provinces, autonomous regions, municipalities, Taiwan (71), Hong Kong
// (81) and Macao (82).
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true,
}

// earliestBirth is the earliest date of birth accepted.
var earliestBirth = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// Normalise returns s without surrounding white space and with a
// lower-case check character x written X. It does not validate s.
func Normalise(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "x") {
		s = s[:len(s)-1] + "X"
	}
	return s
}

// CheckChar returns the GB 11643 check character of the first 17 digits
// of an ID number. It returns an error if body is not 17 ASCII digits.
func CheckChar(body string) (byte, error) {
	if len(body) != 17 {
		return 0, ErrIDLength
	}
	sum := 0
	for i := range 17 {
		c := body[i]
		if c < '0' || c > '9' {
			return 0, ErrIDSyntax
		}
		sum += int(c-'0') * idWeights[i]
	}
	return idCheckChars[sum%11], nil
}

// Valid checks an ID number after [Normalise]: its length,
// its characters, the province of its region code, its date of birth (a real
// calendar date, from 1900 and not after ref) and its check character. The
// error wraps one of the ErrID… values and never quotes the number.
func Valid(s string, ref time.Time) error {
	s = Normalise(s)
	if len(s) != 18 {
		return fmt.Errorf("%w: got %d bytes", ErrIDLength, len(s))
	}
	check, err := CheckChar(s[:17])
	if err != nil {
		return fmt.Errorf("%w: a character in the first 17 is not a digit", ErrIDSyntax)
	}
	if last := s[17]; last != 'X' && (last < '0' || last > '9') {
		return fmt.Errorf("%w: the last character is not a digit or X", ErrIDSyntax)
	}
	if !provinces[s[:2]] {
		return ErrIDRegion
	}
	if s[2:6] == "0000" {
		return fmt.Errorf("%w: the region code names no city or county", ErrIDRegion)
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil {
		return fmt.Errorf("%w: not a calendar date", ErrIDDate)
	}
	refDay := time.Date(ref.Year(), ref.Month(), ref.Day(), 0, 0, 0, 0, time.UTC)
	if birth.Before(earliestBirth) || birth.After(refDay) {
		return fmt.Errorf("%w: before 1900 or in the future", ErrIDDate)
	}
	if s[17] != check {
		return ErrIDChecksum
	}
	return nil
}

// BirthDate returns the date of birth of a valid ID number as
// YYYY-MM-DD.
func BirthDate(idNumber string) string {
	s := Normalise(idNumber)
	if len(s) != 18 {
		return ""
	}
	return s[6:10] + "-" + s[10:12] + "-" + s[12:14]
}

// Female reports whether a valid ID number is a woman's: the last digit
// of the sequence number is even.
func Female(idNumber string) bool {
	s := Normalise(idNumber)
	return len(s) == 18 && (s[16]-'0')%2 == 0
}
