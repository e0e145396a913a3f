package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/client"
)

// The gateways make up runs (network/fabnet.Gateways).
const (
	operatorURL = "http://127.0.0.1:7080"
	bankURL     = "http://127.0.0.1:7081"
	insurerURL  = "http://127.0.0.1:7082"
)

// httpClient talks to one gateway with an optional bearer token.
type httpClient struct {
	t     testing.TB
	base  string
	token string
}

// call sends a JSON request and decodes a JSON answer into out (if not nil);
// it returns the status and the raw body.
func (c *httpClient) call(method, path string, body any, out any, headers ...string) (int, []byte) {
	c.t.Helper()
	code, _, raw := c.callHeader(method, path, body, headers...)
	if out != nil && code < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
	return code, raw
}

// callHeader sends a JSON request and returns the answer's status,
// headers and raw body.
func (c *httpClient) callHeader(method, path string, body any, headers ...string) (int, http.Header, []byte) {
	c.t.Helper()
	code, h, raw, err := c.do(method, path, body, headers...)
	if err != nil {
		c.t.Fatal(err)
	}
	return code, h, raw
}

// do is callHeader without failing the test, for concurrent callers: it
// returns the error that kept the request from being sent or answered.
func (c *httpClient) do(method, path string, body any, headers ...string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw, nil
}

func (c *httpClient) must(method, path string, body, out any, want int, headers ...string) {
	c.t.Helper()
	if code, raw := c.call(method, path, body, out, headers...); code != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, raw)
	}
}

// errorCode extracts the stable code of an API error body.
func errorCode(raw []byte) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Error.Code
}

// institution logs a member's demo API client in (client credentials).
func institution(t testing.TB, base, member string) *httpClient {
	t.Helper()
	return institutionAt(t, base, filepath.Join(testNet.StateDir(), "gateway", member))
}

// institutionAt logs in the first demo API client a gateway's setup wrote
// into its data directory.
func institutionAt(t testing.TB, base, data string) *httpClient {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "demo-clients.json"))
	if err != nil {
		t.Fatal(err)
	}
	var clients []struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(b, &clients); err != nil || len(clients) == 0 {
		t.Fatalf("demo clients in %s: %v", data, err)
	}
	c := &httpClient{t: t, base: base}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	c.must("POST", "/v1/oauth/token", map[string]string{"grant_type": "client_credentials",
		"client_id": clients[0].ClientID, "client_secret": clients[0].ClientSecret}, &tok, 200)
	c.token = tok.AccessToken
	return c
}

// demoCitizen is one of the synthetic citizens of the operator's safe.
type demoCitizen struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
}

func demoCitizens(t testing.TB) []demoCitizen {
	t.Helper()
	f, err := os.Open(filepath.Join(testNet.StateDir(), "gateway", "bureau", "demo-citizens.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []demoCitizen
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c demoCitizen
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// citizenLogin logs a citizen in at the development identity provider,
// the one-time code read from the file it wrote it to, as a developer
// would.
func citizenLogin(t testing.TB, c demoCitizen) *httpClient {
	t.Helper()
	cl, _ := oidcLogin(t, c, nil)
	return cl
}

// freshDevice enrols a new device key for c with a login at the identity
// provider, first revoking the keys earlier runs left on the same ledger
// (a citizen may hold at most eight). It returns the login's session and
// the device.
func freshDevice(t testing.TB, c demoCitizen) (*httpClient, *device) {
	t.Helper()
	citizen := citizenLogin(t, c)
	var keys struct {
		Keys []model.DeviceKey `json:"keys"`
	}
	if code, _ := citizen.call("GET", "/citizen/v1/keys", nil, &keys); code == http.StatusOK {
		for _, k := range keys.Keys {
			if k.Status == model.StatusActive {
				citizen.must("DELETE", "/citizen/v1/keys/"+k.KeyID, nil, nil, http.StatusNoContent)
			}
		}
	}
	d := newDevice(t)
	return enrolWebCrypto(t, c, d, "test phone"), d
}

// waitPending waits until the operator's peer has committed a request the
// citizen must see: each organisation's peer commits a block on its own.
func waitPending(t testing.TB, citizen *httpClient, authID string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; {
		var pending struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		citizen.must("GET", "/citizen/v1/authorizations?status=PENDING", nil, &pending, 200)
		for _, it := range pending.Items {
			if it.ID == authID {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the citizen does not see request %s", authID)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// decideHTTP asks the operator for the bytes to sign, signs them on the
// device and submits the decision.
func decideHTTP(t testing.TB, citizen *httpClient, d *device, authID string, action model.Action) (int, []byte) {
	t.Helper()
	code, raw, err := tryDecide(citizen, d, authID, action)
	if err != nil {
		t.Fatal(err)
	}
	return code, raw
}

// payloadRefused is the operator's refusal to give the bytes to sign.
type payloadRefused struct {
	status int
	body   []byte
}

func (e *payloadRefused) Error() string {
	return fmt.Sprintf("payload: status %d, want 200: %s", e.status, e.body)
}

// tryDecide is decideHTTP without failing the test, for concurrent
// callers: a refused payload is a *payloadRefused; the decision's answer
// is returned as its status and body.
func tryDecide(citizen *httpClient, d *device, authID string, action model.Action) (int, []byte, error) {
	code, _, raw, err := citizen.do("POST", "/citizen/v1/authorizations/"+authID+"/payload", map[string]string{"action": string(action)})
	if err != nil {
		return 0, nil, err
	}
	if code != http.StatusOK {
		return 0, nil, &payloadRefused{status: code, body: raw}
	}
	var p struct {
		Payload     string `json:"payload"`
		PayloadJSON string `json:"payload_json"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return 0, nil, fmt.Errorf("payload: decoding %s: %w", raw, err)
	}
	signed, err := base64.StdEncoding.DecodeString(p.Payload)
	if err != nil || string(signed) != p.PayloadJSON {
		return 0, nil, fmt.Errorf("payload %q does not decode to the displayed %q", p.Payload, p.PayloadJSON)
	}
	code, _, raw, err = citizen.do("POST", "/citizen/v1/authorizations/"+authID+"/decision",
		map[string]string{"payload": p.Payload, "signature": d.sign(citizen.t, signed), "key_id": d.kid},
		"Idempotency-Key", id("decide-"+authID+"-"+string(action)))
	return code, raw, err
}

// TestLendingFlowHTTP is the lending flow through the gateways' HTTP APIs
// only: the bank asks, the citizen grants with an ES256 signature made on
// the device, the bank fetches data that its own gateway verifies against
// its own peer, the citizen sees the use, revokes, and the next fetch is
// refused.
func TestLendingFlowHTTP(t *testing.T) {
	people := demoCitizens(t)
	applicant := people[0]
	citizen, phone := freshDevice(t, applicant)
	ctx := context.Background()

	bank := institutionClient(t, bankURL, "bank")
	auth, err := bank.CreateAuthorization(ctx, client.AuthorizationRequest{
		CitizenID: applicant.IDNumber, Purpose: "CREDIT_ASSESSMENT", Categories: []string{"housing_fund", "tax"},
		DataFrom: "2025-11-01", DataTo: "2026-10-31",
		ValidUntil: time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), MaxUses: 2,
		Reference: "LOAN-" + runID,
	}, id("loan"))
	if err != nil {
		t.Fatal(err)
	}
	if auth.Status != model.AuthPending || strings.Contains(fmt.Sprint(*auth), applicant.IDNumber) {
		t.Fatalf("created %+v", auth)
	}

	waitPending(t, citizen, auth.ID)
	if code, raw := decideHTTP(t, citizen, phone, auth.ID, model.ActionGrant); code != 200 {
		t.Fatalf("grant: %d %s", code, raw)
	}
	awaitGrant(t, bank, auth.ID)

	data, err := bank.RequestData(ctx, client.DataRequest{AuthorizationID: auth.ID, Categories: []string{"housing_fund", "tax"}}, id("fetch-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !data.Verified || len(data.Records) == 0 || data.TxID == "" {
		t.Fatalf("data request: verified=%v records=%d tx=%q", data.Verified, len(data.Records), data.TxID)
	}
	// What the bank keeps proves the delivery against the ledger's digest.
	if data.DigestSalt == "" || data.Verify("") != nil {
		t.Fatalf("delivery of %s does not hash to its digest %s", data.AccessID, data.Digest)
	}
	for _, r := range data.Records {
		if client.RecordHash(r.Record) != r.RecordHash {
			t.Fatalf("record %s does not hash to its record_hash", r.Record)
		}
	}
	v, err := bank.Verify(ctx, client.VerificationOf(data.Records[0]))
	if err != nil || !v.Valid || !v.Anchored || v.RecordHash != data.Records[0].RecordHash {
		t.Fatalf("verifying a delivered record: %+v %v", v, err)
	}

	var uses struct {
		Items []model.Access `json:"items"`
	}
	citizen.must("GET", "/citizen/v1/accesses", nil, &uses, 200)
	seen := false
	for _, a := range uses.Items {
		seen = seen || (a.ID == data.AccessID && a.TxID == data.TxID)
	}
	if !seen {
		t.Fatalf("the citizen does not see access %s", data.AccessID)
	}

	if code, raw := decideHTTP(t, citizen, phone, auth.ID, model.ActionRevoke); code != 200 {
		t.Fatalf("revoke: %d %s", code, raw)
	}
	_, err = bank.RequestData(ctx, client.DataRequest{AuthorizationID: auth.ID, Categories: []string{"tax"}}, id("fetch-2"))
	if qe := apiError(t, err); qe.Status < 400 || qe.Status >= 500 || qe.Code != string(model.CodeAuthRevoked) || qe.RequestID == "" {
		t.Fatalf("fetch after revocation: %+v", qe)
	}

	// The insurer cannot fetch under the bank's authorisation.
	insurer := institutionClient(t, insurerURL, "insurer")
	_, err = insurer.RequestData(ctx, client.DataRequest{AuthorizationID: auth.ID, Categories: []string{"tax"}}, id("steal"))
	if qe := apiError(t, err); qe.Status != 403 && qe.Status != 404 {
		t.Fatalf("insurer fetch under the bank's authorisation: %+v", qe)
	}
}
