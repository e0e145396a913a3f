package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJWKS: the jwks command prints the same public key set every time,
// creating the key on the first call, without serving.
func TestJWKS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "devidp")
	var first, second bytes.Buffer
	if err := run(context.Background(), []string{"jwks", "--state-dir", dir}, &first, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"jwks", "--state-dir", dir}, &second, io.Discard); err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(first.Bytes(), &set); err != nil || len(set.Keys) != 1 || first.String() != second.String() {
		t.Fatalf("jwks: %s / %s (%v)", first.String(), second.String(), err)
	}
	k := set.Keys[0]
	if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["d"] != nil || k["kid"] == "" {
		t.Errorf("key = %v", k)
	}
}

func TestFlags(t *testing.T) {
	base := []string{"--state-dir", "s", "--client-id", "c", "--client-secret-file", "f", "--redirect-uri", "http://127.0.0.1:7080/cb", "--register-file", "r"}
	o, err := parseFlags(base, io.Discard)
	if err != nil || o.Issuer != "http://127.0.0.1:7085" || o.CodesDir != filepath.Join("s", "codes") {
		t.Fatalf("%+v %v", o, err)
	}
	for _, bad := range [][]string{
		append([]string{"--listen", "0.0.0.0:7085"}, base...),
		append([]string{"--listen", "localhost:7085"}, base...),
		base[2:],
		append(base, "extra"),
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func TestReadSecret(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte("0123456789abcdef0123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readSecret(p); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("a world-readable secret: %v", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := readSecret(p); err != nil || s != "0123456789abcdef0123" {
		t.Fatalf("%q %v", s, err)
	}
}
