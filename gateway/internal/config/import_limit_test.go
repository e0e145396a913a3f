package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestImportLimit(t *testing.T) {
	base := []string{"--org", "BankMSP", "--state-dir", t.TempDir()}
	c, err := Load(base, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ImportLimit != 32<<20 {
		t.Errorf("default ImportLimit = %d, want 32 MiB", c.ImportLimit)
	}
	c, err = Load(base, []string{"QC_IMPORT_LIMIT=1048576"}, io.Discard)
	if err != nil || c.ImportLimit != 1<<20 {
		t.Fatalf("QC_IMPORT_LIMIT: %v %+v", err, c)
	}
	for _, bad := range []string{"10", "2147483648"} {
		if _, err := Load(append(base, "--import-limit", bad), nil, io.Discard); err == nil || !strings.Contains(err.Error(), "import-limit") {
			t.Errorf("--import-limit %s: err = %v", bad, err)
		}
	}
}

func TestImportBatching(t *testing.T) {
	base := []string{"--org", "BankMSP", "--state-dir", t.TempDir()}
	c, err := Load(base, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.ImportBatchSize != 1024 || c.ImportAnchors != 8 || c.ImportWriters != 2 {
		t.Errorf("defaults: batch size %d, anchors %d, writers %d; want 1024, 8, 2", c.ImportBatchSize, c.ImportAnchors, c.ImportWriters)
	}
	c, err = Load(base, []string{"QC_IMPORT_BATCH_SIZE=65536", "QC_IMPORT_ANCHORS=16", "QC_IMPORT_WRITERS=4"}, io.Discard)
	if err != nil || c.ImportBatchSize != 65536 || c.ImportAnchors != 16 || c.ImportWriters != 4 {
		t.Fatalf("QC_IMPORT_BATCH_SIZE, QC_IMPORT_ANCHORS, QC_IMPORT_WRITERS: %v %+v", err, c)
	}
	if c.ImportTimeout != 30*time.Minute {
		t.Errorf("import timeout %s, want 30m by default", c.ImportTimeout)
	}
	for _, bad := range [][]string{{"--import-batch-size", "0"}, {"--import-batch-size", "65537"}, {"--import-anchors", "0"}, {"--import-anchors", "65"},
		{"--import-writers", "0"}, {"--import-writers", "17"}, {"--import-timeout", "30s"}, {"--import-timeout", "25h"}} {
		if _, err := Load(append(base, bad...), nil, io.Discard); err == nil || !strings.Contains(err.Error(), bad[0][2:]) {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
}
