package fabnet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// deployment records what the chaincode service runs: written when it is
// started, compared on the next `up` to decide whether to restart it.
type deployment struct {
	PackageID    string `json:"package_id"`
	BinarySHA256 string `json:"binary_sha256"`
}

func (l Layout) deploymentFile() string { return filepath.Join(l.ChaincodeDir(), "deployment.json") }

// PackageFile is the chaincode package installed on the peers.
func (l Layout) PackageFile() string { return filepath.Join(l.ChaincodeDir(), "quanchain-cc.tar.gz") }

// recordedPackageID returns the package id the chaincode service was last
// started with.
func (l Layout) recordedPackageID() (string, error) {
	d, err := l.readDeployment()
	return d.PackageID, err
}

func (l Layout) readDeployment() (deployment, error) {
	var d deployment
	b, err := os.ReadFile(l.deploymentFile())
	if err != nil {
		return d, fmt.Errorf("read chaincode deployment record: %w", err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("parse %s: %w", l.deploymentFile(), err)
	}
	return d, nil
}

// buildBinary compiles a main package (relative to the repository root)
// into target and returns the binary's SHA-256. The go command relinks only
// if the binary is out of date, and then replaces the file (unlinks it
// first), so a running service is not disturbed.
func (l Layout) buildBinary(ctx context.Context, source, target string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build %s: %w", source, err)
	}
	if m, _ := filepath.Glob(filepath.Join(l.RepoRoot, source, "*.go")); len(m) == 0 {
		return "", fmt.Errorf("main package not found: no Go files in %s", filepath.Join(l.RepoRoot, source))
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", filepath.Dir(target), err)
	}
	// -trimpath: the same source gives the same binary in any checkout.
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", target, "./"+filepath.ToSlash(filepath.Clean(source)))
	cmd.Dir = l.RepoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", source, err, tail(string(out), 30))
	}
	f, err := os.Open(target)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", target, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", target, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writePackage writes the CCaaS package and returns its package id,
// cross-checked with `peer lifecycle chaincode calculatepackageid`.
func (l Layout) writePackage(ctx context.Context, t Topology) (string, error) {
	pkg, id, err := ChaincodePackage(t.ChaincodeAddress)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(l.PackageFile(), pkg, 0o644); err != nil {
		return "", err
	}
	out, err := l.peerCLI(ctx, t.Peers[0], "lifecycle", "chaincode", "calculatepackageid", l.PackageFile())
	if err != nil {
		return "", err
	}
	if got := strings.TrimSpace(out); got != id {
		return "", fmt.Errorf("package id mismatch: peer computes %q, expected %q", got, id)
	}
	return id, nil
}

// ensureChaincodeService starts (or restarts, if its binary or package id
// changed) the chaincode service.
func (l Layout) ensureChaincodeService(ctx context.Context, t Topology, packageID, binHash string) (bool, error) {
	p := l.chaincodeProc(t, packageID)
	want := deployment{PackageID: packageID, BinarySHA256: binHash}
	if have, err := l.readDeployment(); err == nil && have == want && l.pid(p) != 0 {
		_, err := l.start(ctx, p) // running: only checks health
		return false, err
	}
	if _, err := l.stop(p); err != nil {
		return false, err
	}
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return false, fmt.Errorf("encode deployment record: %w", err)
	}
	if err := writeFileAtomic(l.deploymentFile(), b, 0o644); err != nil {
		return false, err
	}
	return l.start(ctx, p)
}

// installChaincode installs the package on a peer unless it is installed.
func (l Layout) installChaincode(ctx context.Context, p Node, packageID string) (bool, error) {
	out, err := l.peerCLI(ctx, p, "lifecycle", "chaincode", "queryinstalled", "--output", "json")
	if err != nil {
		return false, err
	}
	var res struct {
		Installed []struct {
			PackageID string `json:"package_id"`
		} `json:"installed_chaincodes"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return false, fmt.Errorf("parse queryinstalled on %s: %w", p.Name(), err)
	}
	for _, c := range res.Installed {
		if c.PackageID == packageID {
			return false, nil
		}
	}
	if _, err := l.peerCLI(ctx, p, "lifecycle", "chaincode", "install", l.PackageFile()); err != nil {
		return false, err
	}
	return true, nil
}

// committedDefinition is the part of a committed chaincode definition
// `up` compares.
type committedDefinition struct {
	Sequence int64  `json:"sequence"`
	Version  string `json:"version"`
}

// queryCommitted returns the committed definition, or nil if none is.
func (l Layout) queryCommitted(ctx context.Context, p Node) (*committedDefinition, error) {
	out, err := l.peerCLI(ctx, p, "lifecycle", "chaincode", "querycommitted",
		"--channelID", ChannelName, "--name", ChaincodeName, "--output", "json")
	if err != nil {
		if strings.Contains(err.Error(), "not defined") {
			return nil, nil
		}
		return nil, err
	}
	var d committedDefinition
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		return nil, fmt.Errorf("parse querycommitted: %w", err)
	}
	return &d, nil
}

// approvedPackageID returns the package id p's organisation approved for
// the given sequence, or "".
func (l Layout) approvedPackageID(ctx context.Context, p Node, seq int64) (string, error) {
	out, err := l.peerCLI(ctx, p, "lifecycle", "chaincode", "queryapproved", "--channelID", ChannelName,
		"--name", ChaincodeName, "--sequence", fmt.Sprint(seq), "--output", "json")
	if err != nil {
		return "", err
	}
	// The source is a protobuf oneof: {"source":{"Type":{"LocalPackage":{"package_id":…}}}}.
	var res struct {
		Source struct {
			Type struct {
				LocalPackage struct {
					PackageID string `json:"package_id"`
				}
			}
		} `json:"source"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return "", fmt.Errorf("parse queryapproved: %w", err)
	}
	return res.Source.Type.LocalPackage.PackageID, nil
}

// definitionArgs are the flags describing the chaincode definition;
// collections is the path of its collections configuration.
func definitionArgs(seq int64, collections string) []string {
	return []string{"--channelID", ChannelName, "--name", ChaincodeName, "--version", ChaincodeVersion,
		"--sequence", fmt.Sprint(seq), "--signature-policy", EndorsementPolicy, "--init-required=false",
		"--collections-config", collections}
}

// commitReadiness returns which organisations approved the definition.
func (l Layout) commitReadiness(ctx context.Context, p Node, seq int64, collections string) (map[string]bool, error) {
	args := append([]string{"lifecycle", "chaincode", "checkcommitreadiness", "--output", "json"}, definitionArgs(seq, collections)...)
	out, err := l.peerCLI(ctx, p, args...)
	if err != nil {
		return nil, err
	}
	var res struct {
		Approvals map[string]bool `json:"approvals"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return nil, fmt.Errorf("parse checkcommitreadiness: %w", err)
	}
	return res.Approvals, nil
}

// defineChaincode approves (by every organisation that has not yet) and
// commits the chaincode definition for packageID, unless the committed
// definition already uses this version and package; a different package or
// version is committed as the next sequence (an upgrade).
func (l Layout) defineChaincode(ctx context.Context, t Topology, packageID string) (string, error) {
	ref := t.Peers[0]
	cur, err := l.queryCommitted(ctx, ref)
	if err != nil {
		return "", err
	}
	seq := int64(1)
	if cur != nil {
		approved, err := l.approvedPackageID(ctx, ref, cur.Sequence)
		if err != nil {
			return "", err
		}
		if cur.Version == ChaincodeVersion && approved == packageID {
			return fmt.Sprintf("committed (sequence %d)", cur.Sequence), nil
		}
		seq = cur.Sequence + 1
	}
	collections, err := l.writeCollections()
	if err != nil {
		return "", err
	}
	ready, err := l.commitReadiness(ctx, ref, seq, collections)
	if err != nil {
		return "", err
	}
	var pending []Node
	for _, p := range t.Peers {
		if !ready[p.Org.MSPID] {
			pending = append(pending, p)
		}
	}
	orderer := l.ordererArgs(t.Orderers[0])
	err = parallel(pending, func(p Node) error {
		args := append([]string{"lifecycle", "chaincode", "approveformyorg", "--package-id", packageID}, definitionArgs(seq, collections)...)
		_, err := l.peerCLI(ctx, p, append(args, orderer...)...)
		return err
	})
	if err != nil {
		return "", err
	}
	args := append([]string{"lifecycle", "chaincode", "commit"}, definitionArgs(seq, collections)...)
	args = append(args, orderer...)
	for _, p := range t.Peers {
		args = append(args, "--peerAddresses", p.Address(), "--tlsRootCertFiles", l.TLSCA(p.Org))
	}
	if _, err := l.peerCLI(ctx, ref, args...); err != nil {
		return "", err
	}
	if cur, err = l.queryCommitted(ctx, ref); err != nil {
		return "", err
	}
	if cur == nil || cur.Sequence != seq {
		return "", errors.New("chaincode commit returned but the definition is not committed")
	}
	return fmt.Sprintf("committed sequence %d now", seq), nil
}
