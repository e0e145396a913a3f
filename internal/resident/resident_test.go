package resident

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// withCheck completes 17 digits with their check character.
func withCheck(t *testing.T, body string) string {
	t.Helper()
	c, err := CheckChar(body)
	if err != nil {
		t.Fatalf("CheckChar: %v", err)
	}
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
		if err != nil {
			t.Fatalf("CheckChar(%s): %v", tt.body, err)
		}
		if got != tt.want {
			t.Errorf("CheckChar(%s) = %c, want %c", tt.body, got, tt.want)
		}
	}
	_, err := CheckChar("1101051949123100")
	if !errors.Is(err, ErrIDLength) {
		t.Errorf("CheckChar: %v, want %v", err, ErrIDLength)
	}
	_, err = CheckChar("1101051949123100A")
	if !errors.Is(err, ErrIDSyntax) {
		t.Errorf("CheckChar: %v, want %v", err, ErrIDSyntax)
	}
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
				if err != nil {
					t.Fatalf("Valid: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Valid: %v, want %v", err, tt.want)
			}
			// Errors never quote the number.
			if digits := strings.TrimSpace(tt.id); len(digits) >= 6 {
				if strings.Contains(err.Error(), digits[:6]) {
					t.Errorf("the error quotes the number: %v", err)
				}
			}
		})
	}
}

func TestNormaliseIDNumber(t *testing.T) {
	if got := Normalise(" 11010519491231002x "); got != "11010519491231002X" {
		t.Errorf(`Normalise(" 11010519491231002x ") = %q, want %q`, got, "11010519491231002X")
	}
	if got := Normalise("370102199003071238"); got != "370102199003071238" {
		t.Errorf(`Normalise("370102199003071238") = %q, want %q`, got, "370102199003071238")
	}
	if got := BirthDate("11010519491231002X"); got != "1949-12-31" {
		t.Errorf(`BirthDate("11010519491231002X") = %q, want %q`, got, "1949-12-31")
	}
	if !Female("11010519491231002X") { // sequence 002: even
		t.Error("sequence 002 is not female")
	}
	if Female("370102199003071238") { // sequence 123: odd
		t.Error("sequence 123 is female")
	}
	if err := Valid(Normalise("11010519491231002x"), time.Now()); errors.Is(err, ErrIDChecksum) {
		t.Errorf("a normalised lower-case x: %v", err)
	}
}
