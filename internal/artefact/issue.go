package artefact

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/internal/jws"
)

// CodeNotProvable is the code of Issue's refusal of a decision that an
// artefact could not prove offline.
const CodeNotProvable = "DECISION_NOT_PROVABLE"

// ErrNotDecided reports an authorisation without a decision: there is
// nothing to prove yet.
var ErrNotDecided = errors.New("artefact: the citizen has not decided yet")

// Citizens reads the citizen's device keys in the requester's records;
// *ledger.Ledger implements it.
type Citizens interface {
	GetCitizen(ctx context.Context, requester, citizenRef string) (*model.Citizen, error)
}

// TxBlocks gives the number of the block that holds a committed
// transaction (qscc GetBlockByTxID on the gateway's own peer).
type TxBlocks interface {
	TxBlock(ctx context.Context, txID string) (uint64, error)
}

// Issuer makes the artefacts of one requester gateway: it reads its own
// peer on its channel and signs with the institution's artefact key.
type Issuer struct {
	citizens Citizens
	blocks   TxBlocks
	signer   *jws.Signer
	channel  string
}

// NewIssuer returns the issuer of a requester gateway: c and blocks read
// its own peer on channel; signer is the institution's artefact key.
func NewIssuer(c Citizens, blocks TxBlocks, signer *jws.Signer, channel string) (*Issuer, error) {
	if c == nil || blocks == nil || signer == nil || channel == "" {
		return nil, errors.New("artefact: an issuer needs a ledger, blocks, a signer and the channel")
	}
	return &Issuer{citizens: c, blocks: blocks, signer: signer, channel: channel}, nil
}

// PublishedKey is the public key that signs the issuer's artefacts, as a
// JSON Web Key.
func (x *Issuer) PublishedKey() json.RawMessage { return x.signer.PublishedKey() }

// Issue builds, signs and checks the artefact of a's last decision, as the
// requester reads a. The registry's terms in it are those the citizen
// signed, which the chaincode checked against the registry when it
// accepted the decision. Without a decision it returns ErrNotDecided; a
// decision it cannot prove offline is an *Error of CodeNotProvable; a
// ledger error is returned as it is.
func (x *Issuer) Issue(ctx context.Context, a *model.Authorization, now time.Time) (string, error) {
	d := a.LastDecision
	if d == nil {
		return "", ErrNotDecided
	}
	payload, err := sig.DecodeBase64(d.Payload)
	if err != nil {
		return "", fail(CodeNotProvable, "its payload is not base64")
	}
	p, err := model.ParseDecisionPayload(payload)
	if err != nil {
		return "", fail(CodeNotProvable, "its payload is not a version-2 decision payload")
	}
	c, err := x.citizens.GetCitizen(ctx, a.Requester, a.CitizenRef)
	if err != nil {
		return "", err
	}
	key, found, _ := c.ActiveKey(d.KeyID) // a key revoked since still signed it
	if !found {
		return "", fail(CodeNotProvable, "device key %s is not in %s's records", d.KeyID, a.Requester)
	}
	block, err := x.blocks.TxBlock(ctx, d.TxID)
	if err != nil {
		return "", err
	}
	art, err := New(x.channel, a, SignedTerms(p), key, block, now)
	if err != nil {
		return "", err
	}
	tok, err := art.Sign(x.signer)
	if err != nil {
		return "", err
	}
	// Never hand out an artefact that its own check refuses.
	if _, err := Verify(tok); err != nil {
		return "", fail(CodeNotProvable, "%v", err)
	}
	return tok, nil
}
