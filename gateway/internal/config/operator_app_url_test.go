package config

import (
	"io"
	"strings"
	"testing"
)

func TestOperatorAppURL(t *testing.T) {
	base := []string{"--org", "BankMSP", "--state-dir", t.TempDir()}
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"requester: none by default", nil, nil, ""},
		{"requester in dev: none by default", []string{"--dev"}, nil, ""},
		{"set by flag", []string{"--operator-app-url", "https://quanchain.example/app/"}, nil, "https://quanchain.example/app/"},
		{"set by variable", nil, []string{"QC_OPERATOR_APP_URL=https://quanchain.example/app/"}, "https://quanchain.example/app/"},
		{"http in dev", []string{"--dev", "--operator-app-url", "http://127.0.0.1:7080/app/"}, nil, "http://127.0.0.1:7080/app/"},
		{"provider: its own app", []string{"--roles", "provider,requester", "--public-url", "https://op.example", "--pseudonym-key-file", "/nonexistent/pseudonym.key"}, nil, "https://op.example/app/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(append(append([]string{}, base...), tt.args...), tt.env, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.OperatorAppURL != tt.want {
				t.Errorf("OperatorAppURL = %q, want %q", c.OperatorAppURL, tt.want)
			}
		})
	}
	for _, bad := range []string{"http://quanchain.example/app/", "https://quanchain.example/app/#/pending", "https://quanchain.example/app/?x=1", "/app/", "javascript:alert(1)"} {
		if _, err := Load(append(append([]string{}, base...), "--operator-app-url", bad), nil, io.Discard); err == nil || !strings.Contains(err.Error(), "operator-app-url") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}
