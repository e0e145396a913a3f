package httpapi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/quanchain/quanchain/gateway/internal/config"
	"github.com/quanchain/quanchain/gateway/internal/envelope"
	"github.com/quanchain/quanchain/gateway/internal/exchange"
	"github.com/quanchain/quanchain/gateway/internal/peerlink"
	"github.com/quanchain/quanchain/gateway/internal/peerlink/peerlinktest"
	"github.com/quanchain/quanchain/gateway/internal/synth"
	"github.com/quanchain/quanchain/ledger/ledgertest"
)

// TestProviderRefusesCallersWithoutCertificate: only a gateway presenting
// a member organisation's TLS certificate reaches the provider API; the
// main listener, without client certificates, refuses the route.
func TestProviderRefusesCallersWithoutCertificate(t *testing.T) {
	x := newXnet(t)
	body := jsonBody(t, exchange.DeliveryRequest{AccessID: "acc-nocert-1", AuthorizationID: authBank,
		Categories: []string{synth.Tax}, Mode: "records"})

	// Plain HTTP to the provider's main handler: no certificate to read.
	r := httptest.NewRequest("POST", providerDeliveriesPattern, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Client-MSP", "BankMSP") // a header names nobody
	w := httptest.NewRecorder()
	x.provider.ServeHTTP(w, r)
	if w.Code != 401 || errCode(t, w) != CodeClientCertRequired {
		t.Fatalf("main listener: %d %s", w.Code, w.Body)
	}

	bankCfg, _ := x.pki.Link("BankMSP").ClientConfig("BureauMSP")
	noCert := bankCfg.Clone()
	noCert.Certificates = nil
	rogue := peerlinktest.NewCA(t, "BankMSP")
	rogueCfg := bankCfg.Clone()
	rogueCfg.Certificates = []tls.Certificate{rogue.Issue(t)}
	for name, cfg := range map[string]*tls.Config{"no certificate": noCert, "unknown CA": rogueCfg} {
		t.Run(name, func(t *testing.T) {
			c := peerClient(cfg)
			defer c.CloseIdleConnections()
			resp, err := c.Post(x.peer.URL+providerDeliveriesPattern, "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("admitted: %d", resp.StatusCode)
			}
		})
	}
	// The same through a requester gateway whose client has no identity.
	pc, err := peerlink.NewProviderClient(x.peer.URL, rogueCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if x.bank.srv.DataRequests, err = exchange.NewRequester(exchange.RequesterConfig{MSPID: "BankMSP",
		Ledger: x.bank.ledger, Provider: pc, Key: x.bank.key}); err != nil {
		t.Fatal(err)
	}
	if w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, synth.Tax)); w.Code != 503 || errCode(t, w) != CodeProviderUnavailable {
		t.Fatalf("data request with a refused certificate: %d %s", w.Code, w.Body)
	}
	if len(x.accessSubmits()) != 0 {
		t.Fatal("an access was submitted")
	}
}

// TestPeerHandlerServesOnlyTheProviderAPI: the mutual-TLS listener exposes
// the provider route and /healthz, nothing else.
func TestPeerHandlerServesOnlyTheProviderAPI(t *testing.T) {
	x := newXnet(t)
	bankCfg, _ := x.pki.Link("BankMSP").ClientConfig("BureauMSP")
	c := peerClient(bankCfg)
	defer c.CloseIdleConnections()
	for path, want := range map[string]int{"/healthz": 200, "/metrics": 404, "/citizen/v1/safe": 404, "/openapi.json": 404} {
		resp, err := c.Get(x.peer.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := c.Get(x.peer.URL + providerDeliveriesPattern)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET deliveries: %d", resp.StatusCode)
	}
}

// TestExchangeBadInput: malformed or invalid input on every data-exchange
// endpoint is a 4xx with a stable code, and nothing reaches the ledger or
// the provider's receipts.
func TestExchangeBadInput(t *testing.T) {
	x := newXnet(t)
	bankCfg, _ := x.pki.Link("BankMSP").ClientConfig("BureauMSP")
	peer := peerClient(bankCfg)
	defer peer.CloseIdleConnections()
	postPeer := func(t *testing.T, ct, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", x.peer.URL+providerDeliveriesPattern, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := peer.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var eb errorBody
		json.NewDecoder(resp.Body).Decode(&eb)
		return resp.StatusCode, eb.Error.Code
	}
	// Bodies are built from a good one (with or without the access id the
	// provider API takes).
	builder := func(good map[string]any) func(edit func(m map[string]any)) string {
		return func(edit func(m map[string]any)) string {
			m := map[string]any{}
			for k, v := range good {
				m[k] = v
			}
			edit(m)
			return jsonBody(t, m)
		}
	}
	type tc struct {
		name, ct, body string
		status         int
		code           string
	}
	common := func(with func(edit func(m map[string]any)) string) []tc {
		hf := func(params map[string]string) func(m map[string]any) {
			return func(m map[string]any) {
				m["categories"], m["mode"] = []string{"housing_fund"}, "predicate"
				m["predicate"] = map[string]any{"code": "HOUSING_FUND_EACH_MONTH", "params": params}
			}
		}
		deceased := map[string]any{"code": "DECEASED_BEFORE", "params": map[string]string{"date": "2026-01-01"}}
		return []tc{
			{"malformed JSON", "application/json", `{"authorization_id":`, 400, CodeMalformedJSON},
			{"not an object", "application/json", `[1,2]`, 400, CodeMalformedJSON},
			{"trailing data", "application/json", with(func(map[string]any) {}) + `{}`, 400, CodeMalformedJSON},
			{"unknown field", "application/json", with(func(m map[string]any) { m["requester"] = "BankMSP" }), 400, CodeMalformedJSON},
			{"wrong type", "application/json", with(func(m map[string]any) { m["categories"] = "tax" }), 400, CodeMalformedJSON},
			{"empty body", "application/json", ``, 400, CodeMalformedJSON},
			{"not JSON", "text/plain", `hello`, 415, CodeUnsupportedMedia},
			{"oversized", "application/json", `{"authorization_id":"` + strings.Repeat("a", 2<<20) + `"}`, 413, CodeBodyTooLarge},
			{"bad authorisation id", "application/json", with(func(m map[string]any) { m["authorization_id"] = "a b" }), 400, CodeInvalidArgument},
			{"no categories", "application/json", with(func(m map[string]any) { m["categories"] = []string{} }), 400, CodeInvalidArgument},
			{"bad category", "application/json", with(func(m map[string]any) { m["categories"] = []string{"Tax!"} }), 400, CodeInvalidArgument},
			{"repeated category", "application/json", with(func(m map[string]any) { m["categories"] = []string{"tax", "tax"} }), 400, CodeInvalidArgument},
			{"bad mode", "application/json", with(func(m map[string]any) { m["mode"] = "all" }), 400, CodeInvalidArgument},
			{"predicate without its mode", "application/json", with(func(m map[string]any) { m["predicate"] = deceased }), 400, CodeInvalidArgument},
			{"predicate mode without predicate", "application/json", with(func(m map[string]any) { m["mode"] = "predicate" }), 400, CodeInvalidArgument},
			{"unknown predicate", "application/json", with(func(m map[string]any) {
				m["mode"], m["predicate"] = "predicate", map[string]any{"code": "IS_RICH", "params": map[string]string{}}
			}), 400, CodeInvalidArgument},
			{"predicate of another category", "application/json", with(func(m map[string]any) {
				m["mode"], m["predicate"] = "predicate", deceased
			}), 400, CodeInvalidArgument},
			{"predicate param missing", "application/json", with(hf(map[string]string{"months": "12", "as_of": "2026-11-02"})), 400, CodeInvalidArgument},
			{"predicate param unknown", "application/json", with(hf(map[string]string{"months": "12", "as_of": "2026-11-02", "min_amount": "1", "x": "y"})), 400, CodeInvalidArgument},
			{"predicate months zero", "application/json", with(hf(map[string]string{"months": "0", "as_of": "2026-11-02", "min_amount": "1"})), 400, CodeInvalidArgument},
			{"predicate months too many", "application/json", with(hf(map[string]string{"months": "121", "as_of": "2026-11-02", "min_amount": "1"})), 400, CodeInvalidArgument},
			{"predicate bad date", "application/json", with(hf(map[string]string{"months": "12", "as_of": "2026-02-30", "min_amount": "1"})), 400, CodeInvalidArgument},
			{"predicate bad amount", "application/json", with(hf(map[string]string{"months": "12", "as_of": "2026-11-02", "min_amount": "1.5"})), 400, CodeInvalidArgument},
		}
	}
	withAccess := builder(map[string]any{"access_id": "acc-bad-1", "authorization_id": authBank, "categories": []string{"tax"}, "mode": "records"})
	withoutAccess := builder(map[string]any{"authorization_id": authBank, "categories": []string{"tax"}})

	t.Run("provider", func(t *testing.T) {
		cases := append(common(withAccess),
			tc{"bad access id", "application/json", withAccess(func(m map[string]any) { m["access_id"] = "x" }), 400, CodeInvalidArgument},
			tc{"no access id", "application/json", withAccess(func(m map[string]any) { delete(m, "access_id") }), 400, CodeInvalidArgument},
			tc{"no mode", "application/json", withAccess(func(m map[string]any) { delete(m, "mode") }), 400, CodeInvalidArgument},
		)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if status, code := postPeer(t, c.ct, c.body); status != c.status || code != c.code {
					t.Fatalf("got %d %s, want %d %s", status, code, c.status, c.code)
				}
			})
		}
	})

	t.Run("data-requests", func(t *testing.T) {
		cases := append(common(withoutAccess),
			tc{"access id is not the client's to choose", "application/json", withAccess(func(map[string]any) {}), 400, CodeMalformedJSON},
		)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				w := x.bank.do(t, "POST", "/v1/data-requests", c.body, "Content-Type", c.ct)
				if w.Code != c.status || errCode(t, w) != c.code {
					t.Fatalf("got %d %s", w.Code, w.Body)
				}
			})
		}
		for name, hdr := range map[string][]string{
			"no token":     {"Authorization", ""},
			"bad token":    {"Authorization", "Bearer nope"},
			"basic scheme": {"Authorization", "Basic YmFuazpzZWNyZXQ="},
		} {
			t.Run(name, func(t *testing.T) {
				w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, "tax"), hdr...)
				if w.Code != 401 {
					t.Fatalf("got %d %s", w.Code, w.Body)
				}
			})
		}
		w := x.bank.do(t, "POST", "/v1/data-requests", recordsRequest(authBank, "tax"), "Idempotency-Key", "bad\x01key")
		if w.Code != 400 || errCode(t, w) != CodeInvalidIdempotency {
			t.Fatalf("bad idempotency key: %d %s", w.Code, w.Body)
		}
	})

	t.Run("verifications", func(t *testing.T) {
		rec := `{"category":"tax","citizen_id":"x","record_date":"2026-01-20"}`
		h64 := strings.Repeat("ab", 32)
		for _, c := range []tc{
			{"malformed JSON", "application/json", `{"record":`, 400, CodeMalformedJSON},
			{"unknown field", "application/json", `{"document_sha256":"` + h64 + `","hash":"x"}`, 400, CodeMalformedJSON},
			{"wrong type", "application/json", `{"document_sha256":12}`, 400, CodeMalformedJSON},
			{"not JSON", "text/plain", `hello`, 415, CodeUnsupportedMedia},
			{"oversized", "application/json", `{"document_sha256":"` + strings.Repeat("a", 2<<20) + `"}`, 413, CodeBodyTooLarge},
			{"nothing to verify", "application/json", `{}`, 400, CodeInvalidArgument},
			{"both record and document", "application/json", `{"category":"tax","record":` + rec + `,"document_sha256":"` + h64 + `"}`, 400, CodeInvalidArgument},
			{"record without category", "application/json", `{"record":` + rec + `}`, 400, CodeInvalidArgument},
			{"record not an object", "application/json", `{"category":"tax","record":[1]}`, 400, CodeInvalidArgument},
			{"record with duplicate members", "application/json", `{"category":"tax","record":{"a":1,"a":2}}`, 400, CodeInvalidArgument},
			{"short digest", "application/json", `{"document_sha256":"abcd"}`, 400, CodeInvalidArgument},
			{"proof without batch", "application/json", `{"document_sha256":"` + h64 + `","leaf_index":0,"proof":[]}`, 400, CodeInvalidArgument},
			{"batch without leaf index", "application/json", `{"document_sha256":"` + h64 + `","batch_id":"tax-1","proof":[]}`, 400, CodeInvalidArgument},
			{"bad proof node", "application/json", `{"document_sha256":"` + h64 + `","batch_id":"tax-1","leaf_index":0,"proof":["zz"]}`, 400, CodeInvalidArgument},
			{"negative leaf index", "application/json", `{"document_sha256":"` + h64 + `","batch_id":"tax-1","leaf_index":-1,"proof":[]}`, 400, CodeMalformedJSON},
		} {
			t.Run(c.name, func(t *testing.T) {
				w := x.bank.do(t, "POST", "/v1/verifications", c.body, "Content-Type", c.ct)
				if w.Code != c.status || errCode(t, w) != c.code {
					t.Fatalf("got %d %s", w.Code, w.Body)
				}
			})
		}
		if w := x.bank.do(t, "POST", "/v1/verifications", `{"document_sha256":"`+h64+`"}`, "Authorization", ""); w.Code != 401 {
			t.Fatalf("no token: %d", w.Code)
		}
	})

	if got := x.accessSubmits(); len(got) != 0 {
		t.Fatalf("bad input reached the ledger: %v", got)
	}
	if _, ok := x.receipt("acc-bad-1"); ok {
		t.Fatal("bad input stored a receipt")
	}
}

// TestExchangeRoutesUnconfigured: a gateway started without the data-
// exchange collaborators answers their routes 503, not 500.
func TestExchangeRoutesUnconfigured(t *testing.T) {
	h := newHarness(t)
	for path, body := range map[string]string{
		"/v1/data-requests":       recordsRequest("auth-mine", "tax"),
		"/v1/verifications":       `{"document_sha256":"` + strings.Repeat("0", 64) + `"}`,
		providerDeliveriesPattern: `{}`,
	} {
		w := h.do("POST", path, body)
		if w.Code != 503 {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	h2 := newHarness(t, func(c *config.Config) { c.Roles = []config.Role{config.RoleRequester} })
	if w := h2.do("POST", providerDeliveriesPattern, `{}`); w.Code != 404 {
		t.Errorf("provider route on a requester gateway: %d", w.Code)
	}
}

func TestRegisterEncryptionKey(t *testing.T) {
	net := ledgertest.NewDemo(t, fixedClock)
	v := net.Ledger("BankMSP")
	ctx := context.Background()
	k1, _ := envelope.GenerateKey()
	for i, want := range []bool{true, false} {
		changed, err := envelope.RegisterKey(ctx, v, "BankMSP", k1)
		if err != nil || changed != want {
			t.Fatalf("call %d: %v %v", i, changed, err)
		}
	}
	k2, _ := envelope.GenerateKey()
	if changed, err := envelope.RegisterKey(ctx, v, "BankMSP", k2); err != nil || !changed {
		t.Fatalf("rotation: %v %v", changed, err)
	}
	inst, _ := v.GetInstitution(ctx, "BankMSP")
	if pub, err := envelope.ParsePublicKey(inst.EncryptionKey); err != nil || !pub.Equal(k2.PublicKey()) {
		t.Fatal("ledger does not hold the new key")
	}
	if got := submitted(net); !slices.Equal(got, []string{"registry:SetEncryptionKey", "registry:SetEncryptionKey"}) {
		t.Fatalf("submitted %v, want two SetEncryptionKey", got)
	}
	if _, err := envelope.RegisterKey(ctx, v, "NobodyMSP", k1); err == nil {
		t.Fatal("unknown institution accepted")
	}
}

// TestProviderClientAnswers: the provider client tells a refusal from a
// failure and from an answer that is not the API's.
func TestProviderClientAnswers(t *testing.T) {
	pki := peerlinktest.New(t, "BureauMSP", "BankMSP")
	serve := func(status int, body string) string {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(body))
		}))
		srv.TLS = pki.Link("BureauMSP").ServerConfig()
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.URL
	}
	cfg, _ := pki.Link("BankMSP").ClientConfig("BureauMSP")
	req := exchange.DeliveryRequest{AccessID: "acc-1", AuthorizationID: "auth-1", Categories: []string{"tax"}, Mode: "records"}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		check  func(error) bool
	}{
		{"refusal", 409, `{"error":{"code":"AUTH_REVOKED","message":"revoked"}}`, func(err error) bool {
			pe, ok := err.(*exchange.ProviderError)
			return ok && pe.Status == 409 && pe.Code == "AUTH_REVOKED"
		}},
		{"error body not the API's", 500, `<html>oops</html>`, func(err error) bool {
			pe, ok := err.(*exchange.ProviderError)
			return ok && pe.Status == 500 && pe.Code == exchange.CodeProviderError
		}},
		{"answer not a delivery", 200, `{"access_id":"acc-1","surprise":true}`, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), exchange.ErrProviderResponse.Error())
		}},
		{"answer without payload", 200, `{"access_id":"acc-1","tx_id":"tx","digest":"` + strings.Repeat("0", 64) + `","mode":"records","record_count":0}`, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), exchange.ErrProviderResponse.Error())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := peerlink.NewProviderClient(serve(tc.status, tc.body), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Deliver(context.Background(), req)
			if !tc.check(err) {
				t.Fatalf("error %v", err)
			}
		})
	}
	for _, bad := range []string{"http://bureau:8443", "https://", "bureau:8443", "https://bureau:8443/?x=1"} {
		if _, err := peerlink.NewProviderClient(bad, cfg); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := peerlink.NewProviderClient("https://bureau:8443", &tls.Config{}); err == nil {
		t.Error("a client without a certificate accepted")
	}
}
