package client_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/gateway/client"
)

// fakeGateway answers the institution API as docs/api.md describes it, with
// canned data, and can be told to fail. It stands in for an institution's
// gateway in examples and tests; the integration suite runs the client
// against the real ones.
type fakeGateway struct {
	*httptest.Server
	clientID, secret string
	key              *ecdsa.PublicKey // a private_key_jwt client's key, if set
	tokenTTL         int              // expires_in of the tokens it issues
	grantAfter       int              // GETs of a new authorisation before the citizen grants it

	mu         sync.Mutex
	tokens     int             // tokens issued
	valid      map[string]bool // tokens accepted
	assertions []string        // client assertions received
	tokenForms []map[string]string
	failures   []failure  // answered, in order, before anything else (token endpoint aside)
	calls      []recorded // API calls received (token endpoint aside)
	auths      map[string]*model.Authorization
	polls      map[string]int
}

type failure struct {
	status     int
	code       string
	retryAfter string
	raw        string // the body as is, instead of a JSON error
}

type recorded struct {
	method, path, idemKey, token string
}

func newFakeGateway() *fakeGateway {
	g := &fakeGateway{clientID: "bank-app", secret: "s3cret", tokenTTL: 300, grantAfter: 2,
		valid: map[string]bool{}, auths: map[string]*model.Authorization{}, polls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+client.TokenPath, g.token)
	mux.HandleFunc("POST /v1/authorizations", g.api(g.createAuthorization))
	mux.HandleFunc("GET /v1/authorizations/{id}", g.api(g.getAuthorization))
	mux.HandleFunc("POST /v1/data-requests", g.api(g.dataRequest))
	mux.HandleFunc("GET /v1/data-availability", g.api(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"authorization_id": r.URL.Query().Get("authorization_id"),
			"data_from": "2025-11-01", "data_to": "2026-10-31",
			"categories": []map[string]any{{"category": "housing_fund", "available": true}}})
	}))
	mux.HandleFunc("GET /v1/accesses", g.api(func(w http.ResponseWriter, r *http.Request) {
		// The query comes back as the first item's digest, for the test to read.
		writeJSON(w, 200, map[string]any{"items": []map[string]any{{"access_id": "acc-1", "digest": r.URL.RawQuery}}, "next_cursor": "c2"})
	}))
	mux.HandleFunc("POST /v1/authorizations/{id}/withdraw", g.api(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, model.Authorization{ID: r.PathValue("id"), Status: model.AuthWithdrawn})
	}))
	mux.HandleFunc("GET /v1/authorizations/{id}/artefact", g.api(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jose")
		fmt.Fprint(w, "eyJhbGciOiJFUzI1NiJ9.eyJ0eXBlIjoiYSJ9.c2ln")
	}))
	g.Server = httptest.NewServer(mux)
	return g
}

// fail makes the next API calls fail, one failure each.
func (g *fakeGateway) fail(f ...failure) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failures = append(g.failures, f...)
}

func (g *fakeGateway) revoke(token string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.valid, token)
}

func (g *fakeGateway) snapshot() (tokens int, calls []recorded) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokens, append([]recorded(nil), g.calls...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Request-Id", "req-42")
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg, "request_id": "req-42"}})
}

func (g *fakeGateway) token(w http.ResponseWriter, r *http.Request) {
	var form map[string]string
	if err := json.NewDecoder(r.Body).Decode(&form); err != nil {
		writeError(w, 400, "MALFORMED_JSON", "bad JSON")
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokenForms = append(g.tokenForms, form)
	switch {
	case g.key != nil:
		a := form["client_assertion"]
		g.assertions = append(g.assertions, a)
		_, err := jwt.Parse(a, func(*jwt.Token) (any, error) { return g.key, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(g.URL+client.TokenPath),
			jwt.WithIssuer(g.clientID), jwt.WithSubject(g.clientID), jwt.WithExpirationRequired())
		if err != nil || form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || form["client_secret"] != "" {
			writeError(w, 401, "INVALID_CLIENT", "invalid client")
			return
		}
	case form["client_id"] != g.clientID || form["client_secret"] != g.secret:
		writeError(w, 401, "INVALID_CLIENT", "invalid client")
		return
	}
	g.tokens++
	tok := "tok-" + strconv.Itoa(g.tokens)
	g.valid[tok] = true
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": g.tokenTTL})
}

// api checks the bearer token, records the call and answers a queued
// failure before h.
func (g *fakeGateway) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		g.mu.Lock()
		g.calls = append(g.calls, recorded{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), tok})
		ok := g.valid[tok]
		var f *failure
		if ok && len(g.failures) > 0 {
			f = &g.failures[0]
			g.failures = g.failures[1:]
		}
		g.mu.Unlock()
		switch {
		case tok == "":
			writeError(w, 401, "MISSING_TOKEN", "no bearer token")
		case !ok:
			writeError(w, 401, "INVALID_TOKEN", "invalid token")
		case f != nil && f.raw != "":
			w.WriteHeader(f.status)
			fmt.Fprint(w, f.raw)
		case f != nil:
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			writeError(w, f.status, f.code, "refused")
		default:
			h(w, r)
		}
	}
}

func (g *fakeGateway) createAuthorization(w http.ResponseWriter, r *http.Request) {
	var q client.AuthorizationRequest
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		writeError(w, 400, "MALFORMED_JSON", "bad JSON")
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	id := "auth-" + strconv.Itoa(len(g.auths)+1)
	a := &model.Authorization{ID: id, Requester: "BankMSP", Purpose: q.Purpose, Categories: q.Categories,
		DataFrom: q.DataFrom, DataTo: q.DataTo, ValidUntil: q.ValidUntil, MaxUses: q.MaxUses, Status: model.AuthPending}
	g.auths[id] = a
	writeJSON(w, 201, a)
}

func (g *fakeGateway) getAuthorization(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, ok := g.auths[r.PathValue("id")]
	if !ok {
		writeError(w, 404, "AUTH_NOT_FOUND", "no such authorisation")
		return
	}
	if g.polls[a.ID]++; a.Status == model.AuthPending && g.polls[a.ID] > g.grantAfter {
		a.Status = model.AuthGranted
	}
	writeJSON(w, 200, a)
}

// dataRequest answers with a fixed salt, so examples print the same digest
// every run; a real provider draws the salt at random.
func (g *fakeGateway) dataRequest(w http.ResponseWriter, r *http.Request) {
	var q client.DataRequest
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		writeError(w, 400, "MALFORMED_JSON", "bad JSON")
		return
	}
	g.mu.Lock()
	a, ok := g.auths[q.AuthorizationID]
	g.mu.Unlock()
	if !ok {
		writeError(w, 404, "AUTH_NOT_FOUND", "no such authorisation")
		return
	}
	if a.Status != model.AuthGranted {
		writeError(w, 409, "AUTH_NOT_GRANTED", "not granted")
		return
	}
	salt := sha256.Sum256([]byte("salt of " + q.AuthorizationID))
	res := map[string]any{"access_id": "acc-1", "tx_id": "5be0", "authorization_id": a.ID, "mode": "records",
		"categories": q.Categories, "data_from": a.DataFrom, "data_to": a.DataTo, "use_number": 1,
		"accessed_at": "2026-11-02T09:14:03Z", "verified": true, "digest_salt": hex.EncodeToString(salt[:])}
	var body []byte
	if q.Mode == model.ModePredicate {
		answer := q.Predicate.Code == "DECEASED_BEFORE"
		body, _ = json.Marshal(map[string]any{"type": "quanchain.predicate.v1", "access_id": "acc-1", "answer": answer})
		res["mode"], res["predicate"], res["answer"] = "predicate", q.Predicate, answer
	} else {
		rec := json.RawMessage(`{"amount_fen":120000,"category":"housing_fund","month":"2026-10"}`)
		records := []map[string]any{{"category": "housing_fund", "record_date": "2026-10-15", "record_hash": client.RecordHash(rec),
			"proof": map[string]any{"batch_id": "b-1", "leaf_index": 0, "leaf_count": 1, "path": []string{}, "root": "00"}, "record": rec}}
		body, _ = json.Marshal(map[string]any{"type": "quanchain.delivery.v1", "access_id": "acc-1", "records": records})
		res["records"] = records
	}
	res["delivery"] = body
	res["digest"], _ = client.DeliveryDigest(hex.EncodeToString(salt[:]), body)
	writeJSON(w, 200, res)
}
