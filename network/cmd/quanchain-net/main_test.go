package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no command", nil, 2, "usage:"},
		{"two commands", []string{"up", "down"}, 2, "usage:"},
		{"unknown", []string{"restart"}, 2, `unknown command "restart"`},
		{"help", []string{"help"}, 0, "usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(stdout.String()+stderr.String(), tt.out) {
				t.Errorf("output %q lacks %q", stdout.String()+stderr.String(), tt.out)
			}
		})
	}
}
