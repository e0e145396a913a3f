package main

import (
	"context"
	"path/filepath"

	"github.com/quanchain/quanchain/gateway/internal/auth"
	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/internal/artefact"
	"github.com/quanchain/quanchain/internal/jws"
	"github.com/quanchain/quanchain/ledger"
	"github.com/quanchain/quanchain/ledger/qscc"
)

// The signing keys of the documents a gateway issues, in its data
// directory, created on first start (mode 0600, PKCS#8 PEM): the consent
// artefacts of a requester and the delivery signatures of the provider.
// Every gateway of one organisation should hold the same files, so that
// the key it publishes is the one that signed.
const (
	artefactKeyFile = "artefact-signing.pem"
	deliveryKeyFile = "delivery-signing.pem"
)

// loadSigner loads (or creates) an ES256 signing key.
func loadSigner(path string) (*jws.Signer, error) {
	k, err := auth.LoadOrCreateSigningKey(path)
	if err != nil {
		return nil, err
	}
	return jws.NewSigner(k.PrivateKey)
}

// artefactAPI returns the consent artefact API of a requester gateway;
// nil for a gateway without the requester role.
func artefactAPI(cfg *config.Config, l *ledger.Ledger, ev ledger.Evaluator, channel string) (*artefact.Issuer, error) {
	if !cfg.HasRole(config.RoleRequester) {
		return nil, nil
	}
	signer, err := loadSigner(filepath.Join(cfg.DataDir, artefactKeyFile))
	if err != nil {
		return nil, err
	}
	return artefact.NewIssuer(l, txBlocks{qscc.New(ev, channel)}, signer, channel)
}

// txBlocks places transactions in blocks through the gateway's own peer's
// qscc.
type txBlocks struct{ c *qscc.Client }

func (b txBlocks) TxBlock(ctx context.Context, txID string) (uint64, error) {
	blk, err := b.c.BlockByTxID(ctx, "", txID)
	if err != nil {
		return 0, err
	}
	return blk.GetHeader().GetNumber(), nil
}
