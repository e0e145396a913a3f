package fabnet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPatchFabric: every patch replaces its passage exactly once, and a
// source where a passage is missing or repeated is refused untouched.
func TestPatchFabric(t *testing.T) {
	write := func(dir string, times int) {
		for _, p := range fabricPatches {
			path := filepath.Join(dir, p.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			body := "package etcdraft\n" + strings.Repeat(p.old, times) + "// end\n"
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	write(dir, 1)
	if err := patchFabric(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range fabricPatches {
		b, _ := os.ReadFile(filepath.Join(dir, p.file))
		if strings.Contains(string(b), p.old) || !strings.Contains(string(b), p.new) {
			t.Errorf("%s not patched:\n%s", p.file, b)
		}
	}
	if err := patchFabric(dir); err == nil {
		t.Error("patching twice succeeded")
	}
	for _, times := range []int{0, 2} {
		dir := t.TempDir()
		write(dir, times)
		if err := patchFabric(dir); err == nil || !strings.Contains(err.Error(), "occurs") {
			t.Errorf("passage %d times: %v", times, err)
		}
	}
	if !strings.Contains(fabricPatches[1].old, "WALSyncC") {
		t.Error("the chain's WAL sync request is no longer what the patch removes")
	}
}
