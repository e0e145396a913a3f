package exchange

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"errors"
	"log/slog"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
	"github.com/quanchain/quanchain/gateway/internal/store"
	"github.com/quanchain/quanchain/gateway/internal/vault"
	"github.com/quanchain/quanchain/internal/jws"
	"github.com/quanchain/quanchain/ledger"
)

// ProviderLedger is what the provider needs from the chaincode;
// *ledger.Ledger implements it.
type ProviderLedger interface {
	GetAuthorization(ctx context.Context, id string) (*model.Authorization, error)
	GetInstitution(ctx context.Context, mspID string) (*model.Institution, error)
	RecordAccess(ctx context.Context, access model.AccessRequest) (*model.Access, error)
	GetAccess(ctx context.Context, id string) (*model.Access, error)
}

// CodeCitizenRefUnknown refuses a delivery whose authorisation names a
// citizenRef the operator's pseudonym service never gave its requester:
// the provider cannot tell whose records it is about.
const CodeCitizenRefUnknown = "CITIZEN_REF_UNKNOWN"

// SafeStore is what the provider needs from the digital safe and its
// delivery receipts; *store.Store implements it.
type SafeStore interface {
	RecordsFor(ctx context.Context, citizenRef string, categories []string, from, to string) ([]store.Record, error)
	// VaultRefFor resolves the pairwise citizenRef the pseudonym service
	// gave a requester to the vault ref the safe keeps the citizen's
	// records under (store.ErrNotFound if it never gave that ref).
	VaultRefFor(ctx context.Context, requesterMSP, pairwiseRef string) (string, error)
	RecordDelivery(ctx context.Context, d store.Delivery) (store.Delivery, bool, error)
	DeliveryByAccessID(ctx context.Context, accessID string) (store.Delivery, error)
	SetDeliveryTxID(ctx context.Context, accessID, txID string) error
}

// DeliveryBuilder builds the exact bytes of a records delivery, with each
// record's proof, and their digest under the delivery's salt; *vault.Vault
// implements it.
type DeliveryBuilder interface {
	BuildDelivery(ctx context.Context, h vault.DeliveryHeader, salt []byte, records []store.Record) (vault.Delivery, error)
}

// ProviderConfig are the provider's collaborators.
type ProviderConfig struct {
	Ledger  ProviderLedger
	Store   SafeStore
	Builder DeliveryBuilder
	// Log receives what goes wrong without failing a delivery; nil
	// discards it.
	Log *slog.Logger
	// Signer is the provider's delivery-signing key and MSPID its
	// organisation: every delivery is signed (signature.go). Without a
	// Signer deliveries are not signed, and requesters refuse them.
	Signer *jws.Signer
	MSPID  string
}

// Provider serves authorised data to requester gateways.
type Provider struct {
	cfg ProviderConfig
}

// NewProvider checks c and returns the provider.
func NewProvider(c ProviderConfig) (*Provider, error) {
	if c.Ledger == nil || c.Store == nil || c.Builder == nil {
		return nil, errors.New("exchange: the provider needs a Ledger, a Store and a Builder")
	}
	if c.Signer != nil && c.MSPID == "" {
		return nil, errors.New("exchange: a provider that signs needs its MSPID")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return &Provider{cfg: c}, nil
}

// Deliver serves caller (the requesting organisation, from its verified
// client certificate) the delivery q asks for: it checks the
// authorisation, builds the delivery, records the access (once per access
// id) and seals the delivery to the requester.
//
// The digest recorded on the ledger is SHA-256 of a salt, 32 random bytes
// drawn for the access id, followed by the delivered bytes; the salt is
// sealed to the requester with them (vault.Delivery.Plaintext), so nobody
// else can confirm a guess of what was delivered.
//
// The receipt, with the salt, is stored before the access is submitted, so
// a retry of an access id finds it: if the access committed, the retry is
// answered with the same bytes (the delivery is a deterministic function of
// the stored records and the salt) and the same transaction, and nothing is
// submitted again. A
// retry is served only while the authorisation is usable, the uses
// already counted aside (model.Authorization.Redeliverable): after a
// revocation, a pause, the end of the validity or the requester's
// suspension, it is refused with the same code as a new delivery.
func (p *Provider) Deliver(ctx context.Context, caller string, q DeliveryRequest, now time.Time) (*DeliveryResponse, error) {
	terms, err := q.Validate()
	if err != nil {
		return nil, err
	}
	l := p.cfg.Ledger
	a, err := l.GetAuthorization(ctx, q.AuthorizationID)
	if err != nil {
		return nil, err
	}
	if a.Requester != caller {
		return nil, refuse(string(model.CodeRequesterMismatch), "authorisation %s was not granted to %s", a.ID, caller)
	}
	reused := refuse(CodeAccessIDReused, "access id %s was used for another delivery; use a new access id", q.AccessID)
	receipt, found, err := p.receipt(ctx, q.AccessID)
	if err != nil {
		return nil, err
	}
	if found && (receipt.RequesterMSP != caller || receipt.AuthorizationID != a.ID) {
		return nil, reused
	}
	txID := ""
	if found {
		if txID, err = p.committedTx(ctx, receipt); err != nil {
			return nil, err
		}
	}
	requester, err := l.GetInstitution(ctx, caller)
	if err != nil {
		return nil, err
	}
	// What the chaincode checks when it records the access: a doomed
	// delivery is neither built nor submitted, and a delivered one is not
	// handed out again once the authorisation is no longer usable (the
	// uses it counted aside: the retry of the request that used the last
	// use is still answered).
	usable := a.Usable
	if found {
		usable = a.Redeliverable
	}
	if err := usable(requester, now); err != nil {
		return nil, refuseModel(err)
	}
	if err := terms.Within(a); err != nil {
		return nil, err
	}
	pub, err := encryptionKey(requester)
	if err != nil {
		return nil, err
	}
	salt := vault.NewDigestSalt()
	if found {
		if len(receipt.DigestSalt) != vault.DigestSaltSize {
			return nil, refuse(CodeAccessIDReused, "access id %s was delivered before digests were salted; use a new access id", q.AccessID)
		}
		salt = receipt.DigestSalt
	}
	d, err := p.build(ctx, a, q, terms, salt)
	if err != nil {
		return nil, err
	}
	digest := d.DigestHex()
	if found && receipt.Digest != digest {
		return nil, reused
	}
	if !found {
		stored, created, err := p.cfg.Store.RecordDelivery(ctx, store.Delivery{
			AccessID: q.AccessID, AuthorizationID: a.ID, RequesterMSP: caller, Digest: digest, DigestSalt: salt,
		})
		if err != nil {
			return nil, err
		}
		if !created && (stored.RequesterMSP != caller || stored.AuthorizationID != a.ID) {
			return nil, reused
		}
		if !created && !bytes.Equal(stored.DigestSalt, salt) {
			// A concurrent attempt stored its receipt first, with its own
			// salt: deliver under that one.
			if len(stored.DigestSalt) != vault.DigestSaltSize {
				return nil, reused
			}
			if d, err = p.build(ctx, a, q, terms, stored.DigestSalt); err != nil {
				return nil, err
			}
			digest = d.DigestHex()
		}
		if !created && stored.Digest != digest {
			return nil, reused
		}
	}
	if txID == "" {
		acc, err := l.RecordAccess(ctx, model.AccessRequest{
			ID: q.AccessID, AuthorizationID: a.ID, Requester: caller, Categories: terms.Categories, Mode: q.Mode,
			Predicate: terms.predicate.codeOrEmpty(), Digest: digest, RecordCount: d.RecordCount,
		})
		if ledger.CodeOf(err) == model.CodeAlreadyExists {
			// Committed by an earlier attempt whose answer was lost, or by a
			// concurrent one: the ledger's access must be this delivery.
			if acc, err = l.GetAccess(ctx, q.AccessID); err == nil && !sameAccess(acc, caller, a.ID, digest) {
				return nil, reused
			}
		}
		if err != nil {
			return nil, err
		}
		txID = acc.TxID
		if err := p.cfg.Store.SetDeliveryTxID(ctx, q.AccessID, txID); err != nil {
			// The access is committed; a retry finds it on the ledger.
			p.cfg.Log.WarnContext(ctx, "delivery receipt not updated",
				slog.String("access_id", q.AccessID), slog.String("error", err.Error()))
		}
	}
	env, err := envelope.Seal(pub, d.Plaintext(), []byte(q.AccessID))
	if err != nil {
		return nil, err
	}
	// Signed once the access is committed, so the signature names its
	// transaction too.
	signature, err := p.signDelivery(DeliveryClaims{AccessID: q.AccessID, AuthorizationID: a.ID, Requester: caller,
		Digest: digest, TxID: txID, IssuedAt: model.FormatTime(now)})
	if err != nil {
		return nil, err
	}
	return &DeliveryResponse{AccessID: q.AccessID, TxID: txID, Digest: digest, Mode: q.Mode,
		RecordCount: d.RecordCount, Payload: env, ProviderSignature: signature}, nil
}

// receipt returns the stored receipt of an access id, if any.
func (p *Provider) receipt(ctx context.Context, accessID string) (store.Delivery, bool, error) {
	d, err := p.cfg.Store.DeliveryByAccessID(ctx, accessID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Delivery{}, false, nil
	}
	return d, err == nil, err
}

// committedTx returns the transaction of a receipt's access, asking the
// ledger when the receipt does not know it yet; "" if the access is not on
// the ledger.
func (p *Provider) committedTx(ctx context.Context, receipt store.Delivery) (string, error) {
	if receipt.TxID != "" {
		return receipt.TxID, nil
	}
	acc, err := p.cfg.Ledger.GetAccess(ctx, receipt.AccessID)
	if ledger.CodeOf(err) == model.CodeAccessNotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !sameAccess(acc, receipt.RequesterMSP, receipt.AuthorizationID, receipt.Digest) {
		return "", refuse(CodeAccessIDReused, "access id %s was used for another delivery; use a new access id", receipt.AccessID)
	}
	if err := p.cfg.Store.SetDeliveryTxID(ctx, receipt.AccessID, acc.TxID); err != nil {
		return "", err
	}
	return acc.TxID, nil
}

func sameAccess(acc *model.Access, requester, authID, digest string) bool {
	return acc.Requester == requester && acc.AuthorizationID == authID && acc.Digest == digest
}

// encryptionKey returns the requester's registered data-encryption key.
func encryptionKey(inst *model.Institution) (*ecdh.PublicKey, error) {
	if inst.EncryptionKey == "" {
		return nil, refuse(CodeEncryptionKeyMissing, "institution %s has not registered a data-encryption key", inst.MSPID)
	}
	pub, err := envelope.ParsePublicKey(inst.EncryptionKey)
	if err != nil {
		return nil, refuse(CodeEncryptionKeyMissing, "the data-encryption key registered by %s is not usable", inst.MSPID)
	}
	return pub, nil
}

// build loads the citizen's records of the categories within the
// authorised data range and builds the delivery under salt: the records
// with their proofs, or only a predicate's answer.
func (p *Provider) build(ctx context.Context, a *model.Authorization, q DeliveryRequest, terms Terms, salt []byte) (vault.Delivery, error) {
	// The authorisation names the citizen by the requester's pairwise
	// ref; the safe knows them by their vault ref. A ref this operator
	// never gave the requester names no citizen: answering "no records"
	// would let a predicate say "no" about nobody, so it is refused.
	vaultRef, err := p.cfg.Store.VaultRefFor(ctx, a.Requester, a.CitizenRef)
	if errors.Is(err, store.ErrNotFound) {
		return vault.Delivery{}, refuse(CodeCitizenRefUnknown, "authorisation %s names a citizenRef the operator never gave %s", a.ID, a.Requester)
	}
	if err != nil {
		return vault.Delivery{}, err
	}
	records, err := p.cfg.Store.RecordsFor(ctx, vaultRef, terms.Categories, a.DataFrom, a.DataTo)
	if err != nil {
		return vault.Delivery{}, err
	}
	h := vault.DeliveryHeader{AccessID: q.AccessID, AuthorizationID: a.ID, Requester: a.Requester,
		Categories: terms.Categories, DataFrom: a.DataFrom, DataTo: a.DataTo}
	if pred := terms.predicate; pred != nil {
		facts, err := vault.DecodeFacts(records)
		if err != nil {
			return vault.Delivery{}, err
		}
		return vault.BuildPredicateDelivery(h, salt, pred.code, pred.params, pred.answer(facts))
	}
	d, err := p.cfg.Builder.BuildDelivery(ctx, h, salt, records)
	if errors.Is(err, vault.ErrNotBatched) || errors.Is(err, vault.ErrNotAnchored) {
		return vault.Delivery{}, refuse(CodeDataNotReady, "some of the citizen's records are not anchored yet; retry later")
	}
	return d, err
}
