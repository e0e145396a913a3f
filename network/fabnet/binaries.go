package fabnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// fabricBinaries are the commands built from the Fabric module.
func fabricBinaries() []string {
	return []string{"peer", "orderer", "configtxgen", "osnadmin", "cryptogen", "configtxlator"}
}

// EnsureBinaries makes sure the pinned Fabric binaries are in the cache,
// building them once if they are not (2–4 minutes cold). The build happens
// in a temporary directory that is renamed into place only when complete,
// so an interrupted build never leaves a half cache behind.
func EnsureBinaries(ctx context.Context, l Layout, out io.Writer) error {
	if err := checkBinaries(ctx, l); err == nil {
		return nil
	}
	if err := os.MkdirAll(l.CacheDir, 0o755); err != nil {
		return fmt.Errorf("create cache directory: %w", err)
	}
	unlock, err := LockFile(ctx, filepath.Join(l.CacheDir, ".build.lock"))
	if err != nil {
		return fmt.Errorf("lock the binaries cache: %w", err)
	}
	defer unlock()
	if err := checkBinaries(ctx, l); err == nil {
		return nil // another process built them while we waited
	}
	fmt.Fprintf(out, "building Fabric %s binaries into %s (once; 2-4 minutes)\n", FabricVersion, l.FabricDir())
	start := time.Now()
	if err := buildFabric(ctx, l); err != nil {
		return err
	}
	if err := checkBinaries(ctx, l); err != nil {
		return fmt.Errorf("fresh Fabric build is unusable: %w", err)
	}
	fmt.Fprintf(out, "built Fabric binaries in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// checkBinaries reports why the cache is not usable, or nil.
func checkBinaries(ctx context.Context, l Layout) error {
	for _, b := range fabricBinaries() {
		fi, err := os.Stat(l.Bin(b))
		if err != nil {
			return fmt.Errorf("binary %s: %w", b, err)
		}
		if fi.Mode()&0o111 == 0 {
			return fmt.Errorf("binary %s is not executable", b)
		}
	}
	for _, c := range []string{"core.yaml", "orderer.yaml"} {
		if _, err := os.Stat(l.SampleConfig(c)); err != nil {
			return fmt.Errorf("sample config: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, l.Bin("peer"), "version")
	cmd.Env = baseEnv("FABRIC_CFG_PATH=" + filepath.Dir(l.SampleConfig("core.yaml")))
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("peer version: %w: %s", err, bytes.TrimSpace(outb))
	}
	if !strings.Contains(string(outb), "Version: "+FabricVersion) {
		return fmt.Errorf("peer version does not report %s: %s", FabricVersion, bytes.TrimSpace(outb))
	}
	return nil
}

// buildFabric downloads the pinned Fabric module, copies it out of the
// read-only module cache, drops its vendor/ directory and builds the
// binaries with -mod=mod.
func buildFabric(ctx context.Context, l Layout) (err error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is needed to build Fabric: %w", err)
	}
	tmp, err := os.MkdirTemp(l.CacheDir, ".fabric-build-")
	if err != nil {
		return fmt.Errorf("create build directory: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("remove build directory: %w", rmErr)
		}
	}()
	goEnv := append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")

	dl := exec.CommandContext(ctx, goBin, "mod", "download", "-json", FabricModule)
	dl.Dir, dl.Env = tmp, goEnv
	var stderr bytes.Buffer
	dl.Stderr = &stderr
	outb, err := dl.Output()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(outb, &mod); err != nil || jerr != nil || mod.Error != "" || mod.Dir == "" {
		return fmt.Errorf("go mod download %s: %w (%s%s)", FabricModule, errors.Join(err, jerr), mod.Error, bytes.TrimSpace(stderr.Bytes()))
	}

	src := filepath.Join(tmp, "src")
	if err := copyTree(mod.Dir, src); err != nil {
		return fmt.Errorf("copy Fabric sources: %w", err)
	}
	// The module zip strips vendored code but keeps vendor/modules.txt.
	if err := os.RemoveAll(filepath.Join(src, "vendor")); err != nil {
		return fmt.Errorf("remove vendor directory: %w", err)
	}
	if err := patchFabric(src); err != nil {
		return err
	}
	stage := filepath.Join(tmp, "fabric-"+FabricBuild)
	args := []string{"build", "-ldflags", "-X github.com/hyperledger/fabric/common/metadata.Version=" + FabricVersion,
		"-o", filepath.Join(stage, "bin") + string(filepath.Separator)}
	for _, b := range fabricBinaries() {
		args = append(args, "./cmd/"+b)
	}
	build := exec.CommandContext(ctx, goBin, args...)
	build.Dir, build.Env = src, goEnv
	if outb, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build Fabric: %w\n%s", err, tail(string(outb), 30))
	}
	if err := copyTree(filepath.Join(src, "sampleconfig"), filepath.Join(stage, "config")); err != nil {
		return fmt.Errorf("copy sample config: %w", err)
	}
	if err := os.RemoveAll(l.FabricDir()); err != nil {
		return fmt.Errorf("remove unusable cache %s: %w", l.FabricDir(), err)
	}
	if err := os.Rename(stage, l.FabricDir()); err != nil {
		return fmt.Errorf("move the build into the cache: %w", err)
	}
	return nil
}

// copyTree copies regular files and directories from src to dst, making
// everything writable by its owner (the module cache is read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return copyFile(path, target, info.Mode().Perm()|0o200)
	})
}

// copyFile copies one file with the given permissions.
func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
