package resident

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withCheck completes 17 digits with their check character.
func withCheck(t *testing.T, body string) string {
	t.Helper()
	c, err := CheckChar(body)
	require.NoError(t, err)
	return body + string(c)
}

func TestIDCheckChar(t *testing.T) {
	tests := []struct {
		body string
		want byte
	}{
		{"11010519491231002", 'X'}, // the example of GB 11643-1999
		{"44052418800101001", '4'}, // a commonly published example
		{"37010219900307123", '8'}, // 246 mod 11 = 4
		{"00000000000000000", '1'}, // sum 0 → 1
	}
	for _, tt := range tests {
		got, err := CheckChar(tt.body)
		require.NoError(t, err, tt.body)
		assert.Equal(t, string(tt.want), string(got), tt.body)
	}
	_, err := CheckChar("1101051949123100")
	assert.ErrorIs(t, err, ErrIDLength)
	_, err = CheckChar("1101051949123100A")
	assert.ErrorIs(t, err, ErrIDSyntax)
}

func TestValidIDNumber(t *testing.T) {
	ref := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		id   string
		want error
	}{
		{"standard example", "11010519491231002X", nil},
		{"lower-case x", "11010519491231002x", nil},
		{"surrounding space", " 11010519491231002X\n", nil},
		{"Jinan, Lixia", withCheck(t, "37010219900307123"), nil},
		{"born on the reference day", withCheck(t, "37010220261128001"), nil},
		{"leap day", withCheck(t, "37010220000229001"), nil},
		{"too short", "11010519491231002", ErrIDLength},
		{"too long", "11010519491231002X0", ErrIDLength},
		{"empty", "", ErrIDLength},
		{"full-width digit", "１1010519491231002X", ErrIDLength},
		{"letter inside", "1101051949A231002X", ErrIDSyntax},
		{"bad last character", "11010519491231002Y", ErrIDSyntax},
		{"wrong check digit", "110105194912310021", ErrIDChecksum},
		{"X where a digit is due", withCheck(t, "37010219900307123")[:17] + "X", ErrIDChecksum},
		{"unknown province", withCheck(t, "99010519491231002"), ErrIDRegion},
		{"province without city", withCheck(t, "37000019900307123"), ErrIDRegion},
		{"February 30", withCheck(t, "37010219900230123"), ErrIDDate},
		{"month 13", withCheck(t, "37010219901301123"), ErrIDDate},
		{"not a leap year", withCheck(t, "37010219000229001"), ErrIDDate},
		{"born tomorrow", withCheck(t, "37010220261129001"), ErrIDDate},
		{"before 1900", "440524188001010014", ErrIDDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Valid(tt.id, ref)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			// Errors never quote the number.
			if digits := strings.TrimSpace(tt.id); len(digits) >= 6 {
				assert.NotContains(t, err.Error(), digits[:6])
			}
		})
	}
}

func TestNormaliseIDNumber(t *testing.T) {
	assert.Equal(t, "11010519491231002X", Normalise(" 11010519491231002x "))
	assert.Equal(t, "370102199003071238", Normalise("370102199003071238"))
	assert.Equal(t, "1949-12-31", BirthDate("11010519491231002X"))
	assert.True(t, Female("11010519491231002X"))  // sequence 002: even
	assert.False(t, Female("370102199003071238")) // sequence 123: odd
	assert.False(t, errors.Is(Valid(Normalise("11010519491231002x"), time.Now()), ErrIDChecksum))
}
