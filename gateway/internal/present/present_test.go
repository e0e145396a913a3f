package present

import (
	"bytes"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

var key = bytes.Repeat([]byte{7}, 32)

func signerAt(t *testing.T, now time.Time) *Signer {
	t.Helper()
	s, err := NewSigner(key, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var sample = Ticket{AuthorizationID: "auth-1", Requester: "BankMSP", ReturnURL: "https://app.bank.example/back?x=1", State: "s-42 ok"}

func TestTicketRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	s := signerAt(t, now)
	tok, exp, err := s.Mint(sample)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(TTL)) {
		t.Errorf("expiry %v, want %v", exp, now.Add(TTL))
	}
	got, err := s.Open(tok)
	if err != nil || got.AuthorizationID != sample.AuthorizationID || got.Requester != sample.Requester ||
		got.ReturnURL != sample.ReturnURL || got.State != sample.State || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("Open = %+v, %v", got, err)
	}
	// Just before the expiry it opens; at the expiry it does not.
	if _, err := signerAt(t, exp.Add(-time.Second)).Open(tok); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	if _, err := signerAt(t, exp).Open(tok); !errors.Is(err, ErrExpiredTicket) {
		t.Errorf("at expiry: %v, want %v", err, ErrExpiredTicket)
	}
}

func TestTicketRefused(t *testing.T) {
	now := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	s := signerAt(t, now)
	tok, _, err := s.Mint(sample)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewSigner(bytes.Repeat([]byte{8}, 32), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	forged, _, _ := other.Mint(sample)
	dot := strings.LastIndexByte(tok, '.')
	body := tok[len(prefix):dot]
	// Another claim body under the original signature: a different
	// return URL.
	evil := sample
	evil.ReturnURL = "https://evil.example/"
	evilTok, _, _ := s.Mint(evil)
	evilBody := evilTok[len(prefix):strings.LastIndexByte(evilTok, '.')]
	flip := []byte(tok)
	flip[dot+3] ^= 1
	tests := []struct{ name, ticket string }{
		{"empty", ""},
		{"prefix only", "p1."},
		{"no signature", prefix + body},
		{"another key", forged},
		{"body swapped", prefix + evilBody + tok[dot:]},
		{"signature bit flipped", string(flip)},
		{"other version", "p2" + tok[2:]},
		{"too long", tok + strings.Repeat("A", MaxTicketLength)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Open(tt.ticket); !errors.Is(err, ErrInvalidTicket) {
				t.Errorf("Open: %v, want %v", err, ErrInvalidTicket)
			}
		})
	}
}

func TestValidState(t *testing.T) {
	for _, tt := range []struct {
		state string
		want  bool
	}{
		{"a", true}, {strings.Repeat("x", MaxStateLength), true}, {"with space ~!", true},
		{"", false}, {strings.Repeat("x", MaxStateLength+1), false}, {"tab\t", false}, {"newline\n", false}, {"中文", false}, {"del\x7f", false},
	} {
		if got := ValidState(tt.state); got != tt.want {
			t.Errorf("ValidState(%q) = %v, want %v", tt.state, got, tt.want)
		}
	}
}

func TestLinks(t *testing.T) {
	got := Link("https://op.example/app/", "auth-1", "p1.abc.def")
	if got != "https://op.example/app/#/present/auth-1?r=p1.abc.def" {
		t.Errorf("Link = %s", got)
	}
	ret, err := ReturnLink("https://app.bank.example/back?x=1", "s 1&2", "auth-1", OutcomeDenied)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ret)
	q := u.Query()
	if u.Host != "app.bank.example" || q.Get("x") != "1" || q.Get("state") != "s 1&2" || q.Get("authorization_id") != "auth-1" || q.Get("outcome") != "DENIED" {
		t.Errorf("ReturnLink = %s", ret)
	}
}

// TestQRPNG decodes the PNG and compares every module with the QR code of
// the link: the picture is the link's code, not merely a PNG.
func TestQRPNG(t *testing.T) {
	link := Link("https://op.example/app/", "auth-1", strings.Repeat("p1.abcdefghij", 20))
	b, err := QRPNG(link)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("not a PNG")
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != QRSize || r.Dy() != QRSize {
		t.Fatalf("size %v, want %d×%d", r, QRSize, QRSize)
	}
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := q.Bitmap() // with the quiet zone, stretched over the picture as Encode draws it
	mid := func(m int) int { return int((float64(m) + 0.5) * QRSize / float64(len(bm))) }
	for y, row := range bm {
		for x, dark := range row {
			r, _, _, _ := img.At(mid(x), mid(y)).RGBA()
			if (r < 0x8000) != dark {
				t.Fatalf("module (%d,%d): dark %v in the PNG, %v in the code", x, y, r < 0x8000, dark)
			}
		}
	}
}
