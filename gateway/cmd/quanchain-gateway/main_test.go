package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestRunRefusesBadConfiguration(t *testing.T) {
	err := run(context.Background(), []string{"--org", "BankMSP"}, []string{"QC_TOKEN_TTL=2h"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "state-dir: required") || !strings.Contains(err.Error(), "token-ttl") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunHelp(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"--help"}, nil, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(out.String(), "-state-dir") {
		t.Fatalf("usage: %q", out.String())
	}
}

func TestRunFailsWithoutNetworkProfile(t *testing.T) {
	dir := t.TempDir()
	err := run(context.Background(), []string{"--org", "BankMSP", "--state-dir", dir}, nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "connect to the ledger") {
		t.Fatalf("err = %v", err)
	}
}
