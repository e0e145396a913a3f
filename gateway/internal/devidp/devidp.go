// Package devidp is the development identity provider's two halves outside
// the HTTP API: the real-name register a login is checked against, and the
// code sender that "sends" a one-time code to the phone that register holds.
//
// # Register
//
// A Register reads a JSON Lines file of id_number, name and phone (the
// demo's synthetic citizens, written by `quanchain-gateway setup`), and
// reads it again whenever the file changes. A deployment puts the city's
// real-name register behind the same interface instead.
//
// # Codes
//
// A CodeDir writes each code to a file of its own, named by the challenge
// id, mode 0600 in a directory of mode 0700 under the gateway's data
// directory: never to a log, which is shared far more widely than the
// data directory. Files older than a day are removed as new codes are
// written.
package devidp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/quanchain/quanchain/internal/resident"
)

// Entry is what the register holds of a citizen.
type Entry struct {
	Name  string
	Phone string
}

// Register is a real-name register read from a JSON Lines file.
type Register struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	loaded  bool
	byID    map[string]Entry
}

// OpenRegister returns the register kept in the file at path. The file is
// read at the first lookup, and again whenever its size or modification
// time changes; a missing file is an empty register.
func OpenRegister(path string) *Register {
	return &Register{path: path}
}

// Lookup returns the register's entry for a normalised ID number.
func (r *Register) Lookup(_ context.Context, idNumber string) (Entry, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.refresh(); err != nil {
		return Entry{}, false, err
	}
	e, ok := r.byID[idNumber]
	return e, ok, nil
}

// refresh reads the file again if it changed; r.mu is held.
func (r *Register) refresh() error {
	fi, err := os.Stat(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		r.byID, r.loaded = nil, false
		return nil
	}
	if err != nil {
		return fmt.Errorf("devidp: register: %w", err)
	}
	if r.loaded && fi.ModTime().Equal(r.modTime) && fi.Size() == r.size {
		return nil
	}
	b, err := os.ReadFile(r.path)
	if err != nil {
		return fmt.Errorf("devidp: register: %w", err)
	}
	m := map[string]Entry{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var c struct {
			IDNumber string `json:"id_number"`
			Name     string `json:"name"`
			Phone    string `json:"phone"`
		}
		if err := json.Unmarshal(line, &c); err != nil {
			// The line may hold personal data: name the line, not its text.
			return fmt.Errorf("devidp: register %s: line %d is not a citizen", r.path, n)
		}
		m[resident.Normalise(c.IDNumber)] = Entry{Name: strings.TrimSpace(c.Name), Phone: c.Phone}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("devidp: register: %w", err)
	}
	r.byID, r.modTime, r.size, r.loaded = m, fi.ModTime(), fi.Size(), true
	return nil
}

// Code is one login code to deliver.
type Code struct {
	ChallengeID string    `json:"challenge_id"`
	Phone       string    `json:"phone"`
	Code        string    `json:"code"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// CodeDir "sends" login codes by writing each to a 0600 file in a
// directory: the development stand-in for an SMS gateway.
type CodeDir struct {
	dir string
	// keep is how long a code file is kept; older files are removed.
	keep time.Duration
}

// NewCodeDir returns a sender writing to dir, created (mode 0700) on the
// first code.
func NewCodeDir(dir string) *CodeDir { return &CodeDir{dir: dir, keep: 24 * time.Hour} }

// Dir is the directory the codes are written to.
func (d *CodeDir) Dir() string { return d.dir }

var challengeID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Send writes c to <dir>/<challenge id> (mode 0600), as JSON.
func (d *CodeDir) Send(_ context.Context, c Code) error {
	if !challengeID.MatchString(c.ChallengeID) {
		return errors.New("devidp: a challenge id is 32 hex digits")
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return fmt.Errorf("devidp: code directory: %w", err)
	}
	d.removeOld()
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	path := filepath.Join(d.dir, c.ChallengeID)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("devidp: write code: %w", err)
	}
	// The umask cannot widen 0600, but a file created by another process
	// in between could be wider: O_EXCL refuses that one above.
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("devidp: write code: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("devidp: write code: %w", err)
	}
	return nil
}

// ReadCode returns the code written for a challenge: what a developer (or an
// integration test) reads instead of a text message.
func ReadCode(dir, challenge string) (Code, error) {
	var c Code
	if !challengeID.MatchString(challenge) {
		return c, errors.New("devidp: a challenge id is 32 hex digits")
	}
	b, err := os.ReadFile(filepath.Join(dir, challenge))
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

// removeOld deletes code files older than d.keep.
func (d *CodeDir) removeOld() {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-d.keep)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(d.dir, e.Name()))
		}
	}
}
