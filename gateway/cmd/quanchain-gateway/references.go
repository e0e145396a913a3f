package main

import (
	"path/filepath"

	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/httpapi"
	"github.com/quanchain/quanchain/gateway/internal/reference"
)

// referenceKey returns a requester's reference key, kept in its data
// directory next to its data-encryption key and created on first start
// (mode 0600); nil for a gateway without the requester role. Every gateway
// of one organisation must hold the same file.
func referenceKey(cfg *config.Config) (httpapi.ReferenceKeyer, error) {
	if !cfg.HasRole(config.RoleRequester) {
		return nil, nil
	}
	k, err := reference.LoadOrCreate(filepath.Join(cfg.DataDir, reference.KeyFile))
	if err != nil {
		return nil, err
	}
	return k, nil
}
