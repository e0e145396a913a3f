package fabnet

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// ChaincodeLabel is the label of the chaincode package.
func ChaincodeLabel() string { return ChaincodeName + "_" + ChaincodeVersion }

// tarEntry is one file of a deterministic archive.
type tarEntry struct {
	name string
	data []byte
}

// tarGz builds a gzipped tar archive whose bytes depend on the entries only:
// fixed modification times, owners and modes, no compression (stored
// deflate blocks do not change with the Go version). The package id is the
// hash of these bytes, so it stays the same from one `up` to the next.
func tarGz(entries []tarEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip writer: %w", err)
	}
	zw.ModTime = time.Unix(0, 0)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     e.name,
			Size:     int64(len(e.data)),
			Mode:     0o644,
			ModTime:  time.Unix(0, 0),
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar header %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("close tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("close gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// ChaincodePackage builds the CCaaS package for a chaincode service at
// address: metadata.json ({"type":"ccaas","label":…}) and code.tar.gz
// holding connection.json. It returns the package bytes and their package
// id (label:sha256).
func ChaincodePackage(address string) (pkg []byte, packageID string, err error) {
	conn, err := json.Marshal(struct {
		Address     string `json:"address"`
		DialTimeout string `json:"dial_timeout"`
		TLSRequired bool   `json:"tls_required"`
	}{address, "10s", false})
	if err != nil {
		return nil, "", fmt.Errorf("connection.json: %w", err)
	}
	code, err := tarGz([]tarEntry{{"connection.json", conn}})
	if err != nil {
		return nil, "", err
	}
	meta, err := json.Marshal(struct {
		Type  string `json:"type"`
		Label string `json:"label"`
	}{"ccaas", ChaincodeLabel()})
	if err != nil {
		return nil, "", fmt.Errorf("metadata.json: %w", err)
	}
	pkg, err = tarGz([]tarEntry{{"metadata.json", meta}, {"code.tar.gz", code}})
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(pkg)
	return pkg, ChaincodeLabel() + ":" + hex.EncodeToString(sum[:]), nil
}
