package notify

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url       string
		prod, dev bool // allowed in production, in development mode
	}{
		{"https://bank.example/hooks/quanchain", true, true},
		{"https://bank.example:8443/hooks?x=1", true, true},
		{"https://10.1.2.3/hooks", true, true},
		{"https://127.0.0.1:9443/", true, true},
		{"http://127.0.0.1:9000/hooks", false, true},
		{"http://[::1]:9000/hooks", false, true},
		{"http://localhost:9000/hooks", false, true},
		{"http://bank.example/hooks", false, false},
		{"http://10.1.2.3/hooks", false, false},
		{"https://169.254.169.254/latest/meta-data", false, false},
		{"https://[fe80::1]/", false, false},
		{"https://0.0.0.0/", false, false},
		{"https://224.0.0.1/", false, false},
		{"https://user:pass@bank.example/", false, false},
		{"https://bank.example/#frag", false, false},
		{"ftp://bank.example/", false, false},
		{"javascript:alert(1)", false, false},
		{"/relative/path", false, false},
		{"https:///nohost", false, false},
		{"https://bank.example:port/", false, false},
		{"", false, false},
		{"https://bank.example/" + strings.Repeat("a", MaxURLLength), false, false},
	}
	for _, tt := range tests {
		for _, dev := range []bool{false, true} {
			want := tt.prod
			if dev {
				want = tt.dev
			}
			err := CheckURL(tt.url, dev)
			if (err == nil) != want {
				t.Errorf("CheckURL(%.60q, dev=%v) = %v, want allowed=%v", tt.url, dev, err, want)
			}
			if err != nil && (!errors.Is(err, ErrURLNotAllowed) || (len(tt.url) > 8 && strings.Contains(err.Error(), tt.url))) {
				t.Errorf("CheckURL(%.60q): error %q", tt.url, err)
			}
		}
	}
}
