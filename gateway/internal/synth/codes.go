package synth

import (
	"math/rand/v2"
	"strings"
)

// Identifiers with check characters that records carry: vehicle plates,
// VINs (ISO 3779, GB 16735) and unified social credit codes (GB 32100).

// plateChars are the characters of a plate's serial: digits and letters
// without I and O.
const plateChars = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// plate returns a Jinan (鲁A) plate number.
func plate(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("鲁A")
	for range 5 {
		b.WriteByte(plateChars[rng.IntN(len(plateChars))])
	}
	return b.String()
}

// vinChars are the characters allowed in a VIN (no I, O or Q).
const vinChars = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"

var vinWeights = [17]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}

// vinLetters maps A–Z to their VIN values (I, O, Q are not used).
var vinLetters = map[byte]int{
	'A': 1, 'B': 2, 'C': 3, 'D': 4, 'E': 5, 'F': 6, 'G': 7, 'H': 8,
	'J': 1, 'K': 2, 'L': 3, 'M': 4, 'N': 5, 'P': 7, 'R': 9,
	'S': 2, 'T': 3, 'U': 4, 'V': 5, 'W': 6, 'X': 7, 'Y': 8, 'Z': 9,
}

// VINCheckDigit returns the check character (position 9) a VIN must have.
func VINCheckDigit(v string) byte {
	sum := 0
	for i := range 17 {
		c := v[i]
		val := int(c - '0')
		if c >= 'A' {
			val = vinLetters[c]
		}
		sum += val * vinWeights[i]
	}
	if r := sum % 11; r < 10 {
		return byte('0' + r)
	}
	return 'X'
}

// vin returns a VIN with a Chinese manufacturer prefix (L…) and a valid
// check digit.
func vin(rng *rand.Rand) string {
	b := []byte("LZZ")
	for len(b) < 17 {
		b = append(b, vinChars[rng.IntN(len(vinChars))])
	}
	b[8] = '0'
	b[8] = VINCheckDigit(string(b))
	return string(b)
}

// creditChars are the 31 characters of GB 32100-2015 codes, in value
// order.
const creditChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CreditCodeCheckChar returns the check character of the first 17
// characters of a unified social credit code, or 0 if one is not a code
// character.
func CreditCodeCheckChar(body string) byte {
	if len(body) != 17 {
		return 0
	}
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(creditChars, body[i])
		if v < 0 {
			return 0
		}
		sum += v * creditWeights[i]
	}
	return creditChars[(31-sum%31)%31]
}

// orgCodeCheckChar returns the check character of an 8-digit organisation
// code body (GB 11714-1997).
func orgCodeCheckChar(body string) byte {
	w := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 8 {
		sum += int(body[i]-'0') * w[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// creditCode returns the unified social credit code of an individual
// business registered in region: 9 (market regulation), 2 (individual
// business), the region code, an organisation code with its check
// character, and the code's check character.
func creditCode(rng *rand.Rand, region string) string {
	org := make([]byte, 8)
	for i := range org {
		org[i] = byte('0' + rng.IntN(10))
	}
	body := "92" + region + string(org) + string(orgCodeCheckChar(string(org)))
	return body + string(CreditCodeCheckChar(body))
}
