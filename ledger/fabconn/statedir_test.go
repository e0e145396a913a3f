package fabconn

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStateDir(t *testing.T) {
	t.Setenv(EnvHome, "/tmp/qc-home")
	if d, err := StateDir("/tmp/flag"); err != nil || d != "/tmp/flag" {
		t.Fatalf("given: %q %v", d, err)
	}
	if d, err := StateDir(""); err != nil || d != "/tmp/qc-home" {
		t.Fatalf("environment: %q %v", d, err)
	}
	t.Setenv(EnvHome, "")
	root := t.TempDir()
	sub := filepath.Join(root, "cli", "cmd")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if d, err := StateDir(""); err != nil || d != filepath.Join(root, ".quanchain") {
		t.Fatalf("repository: %q %v", d, err)
	}
}
