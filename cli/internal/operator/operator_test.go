package operator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testID  = "37011520010603615X"
	testRef = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial int64

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// issue returns a leaf for both TLS usages, named like cryptogen's peers:
// no IP address or host name that matches 127.0.0.1.
func (ca *testCA) issue(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// pseudonymServer is the operator's mutual-TLS listener: it admits only
// clients of memberCA and answers a fixed ref.
func pseudonymServer(t *testing.T, serverCA, memberCA *testCA, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(memberCA.cert)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{serverCA.issue(t, "peer0.bureau.quanchain.local")},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func okHandler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/internal/v1/pseudonyms" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad route", http.StatusNotFound)
			return
		}
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "User1@audit.quanchain.local" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"CLIENT_CERT_REQUIRED","message":"no client certificate"}}`)
			return
		}
		var q struct {
			IDNumber     string `json:"id_number"`
			Purpose      string `json:"purpose"`
			ForRequester string `json:"for_requester"`
			CaseID       string `json:"case_id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil || q.IDNumber != testID ||
			q.Purpose != "AUDIT" || q.ForRequester != "BankMSP" || q.CaseID == "" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"code":"INVALID_ID_NUMBER","message":"not a valid ID number","request_id":"req-1"}}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"citizen_ref": testRef})
	}
}

func TestPseudonymRefOverMutualTLS(t *testing.T) {
	operatorCA, memberCA := newCA(t, "tlsca.bureau"), newCA(t, "tlsca.audit")
	srv := pseudonymServer(t, operatorCA, memberCA, okHandler(t))
	client := memberCA.issue(t, "User1@audit.quanchain.local")

	p := NewPseudonyms(srv.URL+"/", MTLSConfig(client, operatorCA.cert))
	ref, err := p.Ref(context.Background(), testID, "BankMSP", "case-1")
	if err != nil || ref != testRef {
		t.Fatalf("ref %q, err %v", ref, err)
	}

	// The gateway's stable code comes through; the ID number does not.
	_, err = p.Ref(context.Background(), "110101199003074477", "BankMSP", "case-1")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_ID_NUMBER" || ae.Status != 400 || !strings.Contains(err.Error(), "req-1") {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), "110101199003074477") {
		t.Fatalf("the ID number is echoed: %v", err)
	}
}

func TestPseudonymRefusesAnotherServer(t *testing.T) {
	operatorCA, otherCA, memberCA := newCA(t, "tlsca.bureau"), newCA(t, "tlsca.bank"), newCA(t, "tlsca.audit")
	// A server of another organisation (the bank) is not the operator.
	srv := pseudonymServer(t, otherCA, memberCA, okHandler(t))
	p := NewPseudonyms(srv.URL, MTLSConfig(memberCA.issue(t, "User1@audit.quanchain.local"), operatorCA.cert))
	_, err := p.Ref(context.Background(), testID, "BankMSP", "case-1")
	if err == nil || !strings.Contains(err.Error(), "not the operator's gateway") || strings.Contains(err.Error(), testID) {
		t.Fatalf("err %v", err)
	}
}

func TestPseudonymNeedsAMemberIdentity(t *testing.T) {
	operatorCA, memberCA, strangerCA := newCA(t, "tlsca.bureau"), newCA(t, "tlsca.audit"), newCA(t, "tlsca.stranger")
	srv := pseudonymServer(t, operatorCA, memberCA, okHandler(t))
	p := NewPseudonyms(srv.URL, MTLSConfig(strangerCA.issue(t, "User1@audit.quanchain.local"), operatorCA.cert))
	if _, err := p.Ref(context.Background(), testID, "BankMSP", "case-1"); err == nil {
		t.Fatal("a client certificate of an unknown CA was accepted")
	}
}

func TestPseudonymUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ca := newCA(t, "ca")
	p := NewPseudonyms("https://"+addr, MTLSConfig(ca.issue(t, "x"), ca.cert))
	_, err = p.Ref(context.Background(), testID, "BankMSP", "case-1")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "make up") || strings.Contains(err.Error(), testID) {
		t.Fatalf("err %v", err)
	}
}

func TestLoadMTLSConfig(t *testing.T) {
	operatorCA, memberCA := newCA(t, "tlsca.bureau"), newCA(t, "tlsca.audit")
	srv := pseudonymServer(t, operatorCA, memberCA, okHandler(t))
	dir := t.TempDir()
	client := memberCA.issue(t, "User1@audit.quanchain.local")
	keyDER, _ := x509.MarshalPKCS8PrivateKey(client.PrivateKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conf, err := LoadMTLSConfig(write("client.crt", "CERTIFICATE", client.Certificate[0]),
		write("client.key", "PRIVATE KEY", keyDER), write("ca.pem", "CERTIFICATE", operatorCA.cert.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if ref, err := NewPseudonyms(srv.URL, conf).Ref(context.Background(), testID, "BankMSP", "case-1"); err != nil || ref != testRef {
		t.Fatalf("ref %q, err %v", ref, err)
	}
	if _, err := LoadMTLSConfig(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"), filepath.Join(dir, "client.key")); err == nil {
		t.Fatal("a key accepted as the CA")
	}
}

// fakeAdmin is a gateway's admin API.
func fakeAdmin(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr := func(status int, code string) {
			w.WriteHeader(status)
			io.WriteString(w, `{"error":{"code":"`+code+`","message":"m"}}`)
		}
		if r.URL.Path == "/admin/v1/oauth/token" {
			var q map[string]string
			json.NewDecoder(r.Body).Decode(&q)
			if q["client_id"] != "adm" || q["client_secret"] != "s3cret" || q["grant_type"] != "client_credentials" {
				writeErr(401, "INVALID_CLIENT")
				return
			}
			io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":300}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok" {
			writeErr(401, "INVALID_TOKEN")
			return
		}
		switch r.URL.Path {
		case "/admin/v1/clients":
			var q struct {
				Org    string   `json:"org_msp"`
				Scopes []string `json:"scopes"`
			}
			json.NewDecoder(r.Body).Decode(&q)
			if q.Org != "BureauMSP" {
				writeErr(422, "ORG_NOT_SERVED")
				return
			}
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(Client{ClientID: "client-1", ClientSecret: "x", OrgMSP: q.Org, Scopes: q.Scopes, CreatedAt: "2026-11-28T09:00:00Z"})
		case "/admin/v1/datasets/tax/import":
			b, _ := io.ReadAll(r.Body)
			if r.Header.Get("Content-Type") != "application/x-ndjson" || len(b) == 0 {
				writeErr(415, "UNSUPPORTED_MEDIA_TYPE")
				return
			}
			n := strings.Count(string(b), "\n")
			json.NewEncoder(w).Encode(ImportResult{Category: "tax", Records: n, Inserted: n, Batches: 1,
				Anchored: []AnchoredBatch{{BatchID: "b-1", Category: "tax", Root: testRef, LeafCount: n, TxID: "tx1"}}})
		default:
			writeErr(404, "NOT_FOUND")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAdmin(t *testing.T) {
	srv := fakeAdmin(t)
	ctx := context.Background()
	a := NewAdmin(srv.URL, "adm", "s3cret")
	c, err := a.CreateClient(ctx, "BureauMSP", []string{"institution"})
	if err != nil || c.ClientID != "client-1" || c.Scopes[0] != "institution" {
		t.Fatalf("%+v %v", c, err)
	}
	r, err := a.Import(ctx, "tax", strings.NewReader("{}\n{}\n"))
	if err != nil || r.Inserted != 2 || len(r.Anchored) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	_, err = a.CreateClient(ctx, "BankMSP", nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "ORG_NOT_SERVED" || ae.Status != 422 {
		t.Fatalf("err %v", err)
	}
	_, err = NewAdmin(srv.URL, "adm", "wrong").CreateClient(ctx, "BureauMSP", nil)
	if !errors.As(err, &ae) || ae.Code != "INVALID_CLIENT" || !strings.Contains(err.Error(), `"adm"`) {
		t.Fatalf("err %v", err)
	}
	if _, err := NewAdmin("http://127.0.0.1:1", "adm", "s3cret").IssueToken(ctx); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("err %v", err)
	}
}
