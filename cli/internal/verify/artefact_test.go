package verify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/cli/internal/ledgertest"
	"github.com/quanchain/quanchain/cli/internal/root"
	"github.com/quanchain/quanchain/cli/internal/verify"
	"github.com/quanchain/quanchain/internal/artefact"
	"github.com/quanchain/quanchain/ledger/ledgertest/artefacttest"
)

// artefactRun runs `qc verify artefact --json` over blocks and the
// fixture's chaincode, as the auditor's peer, with the artefact tok.
func artefactRun(t *testing.T, f *artefacttest.Fixture, blocks []*common.Block, tok string, args ...string) (int, verify.ArtefactResult) {
	t.Helper()
	fake := ledgertest.NewFake(blocks)
	fake.On("consent:GetAuthorization", func(args []string) (any, error) {
		b, err := f.Net.Evaluate(context.Background(), "AuditMSP", "consent:GetAuthorization", args...)
		return string(b), err
	})
	fac, out, _ := ledgertest.NewFactory(fake)
	path := filepath.Join(t.TempDir(), "consent.jws")
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := verify.NewCmdArtefact(fac, nil)
	cmd.SetArgs(append([]string{"--file", path, "--json"}, args...))
	cmd.SetOut(&discard{})
	cmd.SetErr(&discard{})
	code := root.ExitCode(cmd.ExecuteContext(context.Background()))
	var res verify.ArtefactResult
	if code == root.ExitOK || code == root.ExitFailedCheck {
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("exit %d, output %q: %v", code, out, err)
		}
	}
	return code, res
}

// chainWith is a chain whose block 1 holds the transaction txID,
// committed with code.
func chainWith(txID string, code peer.TxValidationCode) []*common.Block {
	b0 := ledgertest.Block(0, nil, ledgertest.Tx{ID: "genesis", Config: true})
	b1 := ledgertest.Block(1, b0, ledgertest.Tx{ID: txID, Creator: "BureauMSP", Chaincode: ledgertest.Chaincode,
		Args: []string{"consent:Decide"}, Code: code})
	return []*common.Block{b0, b1}
}

func TestVerifyArtefactOffline(t *testing.T) {
	f := artefacttest.Granted(t, "auth-qc-1")
	chain := chainWith(f.Auth.LastDecision.TxID, peer.TxValidationCode_VALID)
	other := artefacttest.NewSigner(t)

	code, res := artefactRun(t, f, chain, f.Sign(t, f.Artefact(t, 1)))
	if code != root.ExitOK || !res.Valid || res.SignerKeyID != f.Signer.KeyID() || res.AuthorizationID != "auth-qc-1" ||
		res.Action != model.ActionGrant || res.DeviceKeyID != f.Device.KeyID {
		t.Fatalf("valid artefact: exit %d, %+v", code, res)
	}

	for _, tc := range []struct {
		name string
		tok  func() string
		want string
	}{
		{"terms changed", func() string {
			a := f.Artefact(t, 1)
			a.Authorization.Categories = append(a.Authorization.Categories, "real_estate")
			return f.Sign(t, a)
		}, artefact.CodePayloadMismatch},
		{"decision bytes changed", func() string {
			a := f.Artefact(t, 1)
			p, _ := model.ParseDecisionPayload(mustB64(t, a.Decision.Payload))
			p.ValidUntil = "2027-11-20T00:00:00Z"
			a.Decision.Payload = base64.StdEncoding.EncodeToString(p.Bytes())
			a.Authorization.LastDecision.Payload = a.Decision.Payload
			a.Authorization.ValidUntil = p.ValidUntil
			return f.Sign(t, a)
		}, artefact.CodeCitizenSignature},
		{"another device key", func() string {
			a := f.Artefact(t, 1)
			a.DeviceKey.JWK = other.PublicJWK()
			return f.Sign(t, a)
		}, artefact.CodeKeyMismatch},
		{"signed by another key after the fact", func() string {
			tok := f.Sign(t, f.Artefact(t, 1))
			forged, _ := other.Sign(artefact.Type, []byte("{}"))
			return tok[:len(tok)-86] + forged[len(forged)-86:]
		}, artefact.CodeSignatureInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, res := artefactRun(t, f, chain, tc.tok())
			if code != root.ExitFailedCheck || res.Valid || res.Reason != tc.want {
				t.Fatalf("exit %d, %+v; want 3 %s", code, res, tc.want)
			}
		})
	}

	t.Run("no file", func(t *testing.T) {
		fac, _, _ := ledgertest.NewFactory(ledgertest.NewFake(nil))
		cmd := verify.NewCmdArtefact(fac, nil)
		cmd.SetArgs(nil)
		cmd.SetOut(&discard{})
		cmd.SetErr(&discard{})
		if code := root.ExitCode(cmd.ExecuteContext(context.Background())); code != root.ExitUsage {
			t.Fatalf("exit %d, want %d", code, root.ExitUsage)
		}
	})
}

func TestVerifyArtefactOnTheLedger(t *testing.T) {
	f := artefacttest.Granted(t, "auth-qc-2")
	txID := f.Auth.LastDecision.TxID
	good := chainWith(txID, peer.TxValidationCode_VALID)

	code, res := artefactRun(t, f, good, f.Sign(t, f.Artefact(t, 1)), "--ledger")
	if code != root.ExitOK || !res.Valid || res.Peer != "AuditMSP" || len(res.Checked) != 2 {
		t.Fatalf("valid on the ledger: exit %d, %+v", code, res)
	}
	for _, tc := range []struct {
		name   string
		blocks []*common.Block
		block  uint64
		want   string
	}{
		{"another block", good, 5, verify.ArtefactBlockMismatch},
		{"not committed VALID", chainWith(txID, peer.TxValidationCode_MVCC_READ_CONFLICT), 1, verify.ArtefactTxInvalid},
		{"not on the peer", chainWith("f00d", peer.TxValidationCode_VALID), 1, verify.ArtefactTxNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, res := artefactRun(t, f, tc.blocks, f.Sign(t, f.Artefact(t, tc.block)), "--ledger")
			if code != root.ExitFailedCheck || res.Reason != tc.want {
				t.Fatalf("exit %d, %+v; want 3 %s", code, res, tc.want)
			}
		})
	}

	t.Run("the citizen decided again", func(t *testing.T) {
		tok := f.Sign(t, f.Artefact(t, 1))
		if _, err := f.Net.Decide(context.Background(), f.Device, f.Auth.ID, model.ActionRevoke); err != nil {
			t.Fatal(err)
		}
		code, res := artefactRun(t, f, good, tok)
		if code != root.ExitOK {
			t.Fatalf("offline, a revoked grant still proves the grant: exit %d, %+v", code, res)
		}
		code, res = artefactRun(t, f, good, tok, "--ledger")
		if code != root.ExitFailedCheck || res.Reason != verify.ArtefactDecisionSuperseded {
			t.Fatalf("exit %d, %+v; want 3 %s", code, res, verify.ArtefactDecisionSuperseded)
		}
	})
}

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
