package devidp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCodeDir: each code is written to a file of its own, mode 0600, in a
// directory of mode 0700, and read back by its challenge id; a second code
// for the same challenge is refused rather than overwriting the first.
func TestCodeDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev-login-codes")
	d := NewCodeDir(dir)
	id := strings.Repeat("ab", 16)
	exp := time.Date(2026, 11, 2, 9, 5, 0, 0, time.UTC)
	if err := d.Send(context.Background(), Code{ChallengeID: id, Phone: "13800138000", Code: "123456", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, id))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("code file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("code directory mode %v, want 0700", di.Mode().Perm())
	}
	c, err := ReadCode(dir, id)
	if err != nil || c.Code != "123456" || c.Phone != "13800138000" || !c.ExpiresAt.Equal(exp) {
		t.Fatalf("ReadCode = %+v, %v", c, err)
	}
	if err := d.Send(context.Background(), Code{ChallengeID: id, Code: "654321"}); err == nil {
		t.Fatal("a second code for the same challenge overwrote the first")
	}
	for _, bad := range []string{"../x", "", strings.Repeat("A", 32)} {
		if err := d.Send(context.Background(), Code{ChallengeID: bad, Code: "1"}); err == nil {
			t.Errorf("challenge id %q accepted", bad)
		}
	}

	// Old files go as new codes come.
	old := filepath.Join(dir, strings.Repeat("cd", 16))
	if err := os.WriteFile(old, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-25 * time.Hour)
	_ = os.Chtimes(old, past, past)
	if err := d.Send(context.Background(), Code{ChallengeID: strings.Repeat("ef", 16), Code: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("a day-old code file is still there: %v", err)
	}
}

// TestRegister: entries are found by normalised ID number, a missing file
// is an empty register, and a changed file is read again.
func TestRegister(t *testing.T) {
	path := filepath.Join(t.TempDir(), "register.jsonl")
	r := OpenRegister(path)
	if _, ok, err := r.Lookup(context.Background(), "37010219800101123X"); ok || err != nil {
		t.Fatalf("missing file: %v, %v", ok, err)
	}
	write := func(s string, at time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(path, at, at)
	}
	write(`{"id_number":"37010219800101123x","name":" 张三 ","phone":"13800138000","birth_date":"1980-01-01"}`+"\n", time.Now().Add(-time.Hour))
	e, ok, err := r.Lookup(context.Background(), "37010219800101123X")
	if !ok || err != nil || e.Name != "张三" || e.Phone != "13800138000" {
		t.Fatalf("Lookup = %+v, %v, %v", e, ok, err)
	}
	write(`{"id_number":"37010219800101123X","name":"张三","phone":"13900139000"}`+"\n\n", time.Now())
	if e, _, _ := r.Lookup(context.Background(), "37010219800101123X"); e.Phone != "13900139000" {
		t.Fatalf("changed file not read again: %+v", e)
	}
	write("not json\n", time.Now().Add(time.Minute))
	if _, _, err := r.Lookup(context.Background(), "37010219800101123X"); err == nil || strings.Contains(err.Error(), "not json") {
		t.Fatalf("bad line: %v", err)
	}
}
