package fabconn

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvHome is the environment variable that moves the network's state
// directory away from <repository>/.quanchain.
const EnvHome = "QUANCHAIN_HOME"

// StateDir returns the network's state directory, absolute: dir if it is
// not empty, else $QUANCHAIN_HOME, else .quanchain in the repository that
// holds the working directory (the nearest directory above it with a
// go.mod), where the network tool keeps it.
func StateDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv(EnvHome)
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("working directory: %w", err)
		}
		root, err := RepoRoot(wd)
		if err != nil {
			return "", fmt.Errorf("cannot find the network's state directory (%w): set %s", err, EnvHome)
		}
		dir = filepath.Join(root, ".quanchain")
	}
	return filepath.Abs(dir)
}

// RepoRoot walks up from dir to the first directory holding go.mod: the
// repository whose .quanchain holds the network's state by default.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("look for go.mod: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory: run from inside the repository")
		}
		dir = parent
	}
}
