package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/gateway/internal/identity"
)

// A new device (docs/api.md, "Devices"): the app registers it before the
// citizen is known (a passkey, or a plain WebCrypto key where the gateway
// allows unverified keys), then it is enrolled with a proof the chaincode
// checks: the ID token of a login started with the device's id, or the
// approval of a device the citizen already has. Until then it lives here,
// deviceTTL, behind a secret only the new device holds.

// deviceTTL is how long a device may stay pending.
const deviceTTL = 10 * time.Minute

// Device states as GET /citizen/v1/devices/{id} reports them.
const (
	deviceStatusPending  = "pending"
	deviceStatusEnrolled = "enrolled"
	deviceStatusExpired  = "expired"
)

// Error codes of the device routes.
const (
	CodeDeviceNotFound    = "DEVICE_NOT_FOUND"
	CodeDeviceNotPending  = "DEVICE_NOT_PENDING"
	CodeCredentialRefused = "CREDENTIAL_REFUSED"
)

// pendingDevice is a device on its way to enrolment.
type pendingDevice struct {
	id      string
	secret  [32]byte // SHA-256 of the device secret
	kind    string
	name    string
	expires time.Time

	mu           sync.Mutex
	reg          *identity.Registration // a passkey before its credential
	jwk, kid     string
	credentialID string
	state        string // deviceStatusPending or deviceStatusEnrolled
	ref          string // the citizen, once enrolled
	ticket       string // for the device, once enrolled by another's approval
}

func (d *pendingDevice) keyID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.kid
}

func (d *pendingDevice) status(now time.Time) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statusLocked(now)
}

func (d *pendingDevice) statusLocked(now time.Time) string {
	if d.state == deviceStatusEnrolled {
		return deviceStatusEnrolled
	}
	if !now.Before(d.expires) {
		return deviceStatusExpired
	}
	return deviceStatusPending
}

// newDeviceRequest is the body of POST /citizen/v1/devices.
type newDeviceRequest struct {
	Kind string          `json:"kind"`
	Name string          `json:"name"`
	JWK  json.RawMessage `json:"jwk"`
}

// Validate checks the kind and name; for a WebCrypto key it returns the
// canonical JWK.
func (q *newDeviceRequest) Validate() ([]byte, error) {
	if q.Name != "" {
		if err := model.CheckDeviceName(q.Name); err != nil {
			return nil, modelError(err)
		}
	}
	switch q.Kind {
	case model.KeyWebAuthn:
		if len(q.JWK) != 0 {
			return nil, apiErr(http.StatusBadRequest, CodeInvalidArgument, "a passkey's key comes with its credential, not as jwk")
		}
		return nil, nil
	case model.KeyWebCrypto:
		return parseDeviceJWK(q.JWK)
	}
	return nil, apiErr(http.StatusBadRequest, CodeInvalidArgument, "kind must be webauthn or webcrypto")
}

// parseDeviceJWK parses an ES256 public JWK, never a private one, into
// its canonical form.
func parseDeviceJWK(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, apiErr(http.StatusBadRequest, CodeMalformedJSON, `field "jwk" must be of type object`)
	}
	pub, err := sig.ParseJWK(raw)
	switch {
	case errors.Is(err, sig.ErrPrivateKey):
		return nil, apiErr(http.StatusUnprocessableEntity, CodePrivateKeyRefused, "the JWK holds a private key; send the public key only")
	case err != nil:
		return nil, apiErr(http.StatusUnprocessableEntity, string(model.CodeInvalidKey), "jwk must be an EC P-256 public key for ES256")
	}
	return sig.CanonicalJWK(pub), nil
}

// newDeviceResponse is a pending device and what it needs next.
type newDeviceResponse struct {
	DeviceID     string          `json:"device_id"`
	DeviceSecret string          `json:"device_secret"`
	ExpiresAt    string          `json:"expires_at"`
	Options      json.RawMessage `json:"options,omitempty"`
	KeyID        string          `json:"key_id,omitempty"`
}

// citizenNewDevice registers a device before the login that enrols it.
func (s *Server) citizenNewDevice(w http.ResponseWriter, r *http.Request) error {
	c, err := s.citizenAPI()
	if err != nil {
		return err
	}
	if err := c.allowAddress(w, r); err != nil {
		return err
	}
	var q newDeviceRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	jwk, err := q.Validate()
	if err != nil {
		return err
	}
	now := s.Now()
	secret := randomToken(32)
	d := &pendingDevice{id: randomToken(16), secret: sha256.Sum256([]byte(secret)), kind: q.Kind, name: q.Name,
		expires: now.Add(deviceTTL), state: deviceStatusPending}
	out := newDeviceResponse{DeviceID: d.id, DeviceSecret: secret, ExpiresAt: model.FormatTime(d.expires)}
	switch q.Kind {
	case model.KeyWebAuthn:
		if c.cfg.Passkeys == nil {
			return apiErr(http.StatusServiceUnavailable, CodeLoginUnavailable, "passkeys are not configured on this gateway")
		}
		opts, reg, err := c.cfg.Passkeys.Begin(q.Name)
		if err != nil {
			return err
		}
		d.reg, out.Options = reg, opts
	case model.KeyWebCrypto:
		if !c.cfg.AllowUnverifiedKeys {
			return apiErr(http.StatusForbidden, string(model.CodeUserVerification), "this gateway enrols passkeys only")
		}
		d.jwk, d.kid = string(jwk), thumbprintOf(jwk)
		out.KeyID = d.kid
	}
	c.devices.Put(d.id, d)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// thumbprintOf is the key id of a canonical JWK.
func thumbprintOf(jwk []byte) string {
	pub, err := sig.ParseJWK(jwk)
	if err != nil {
		return ""
	}
	return sig.Thumbprint(pub)
}

var deviceIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// deviceBySecret returns the device in the path if the request carries
// its secret; an unknown device and a wrong secret are alike 404.
func (c *CitizenAPI) deviceBySecret(r *http.Request) (*pendingDevice, error) {
	d, err := c.devicePath(r)
	if err != nil {
		return nil, err
	}
	got := sha256.Sum256([]byte(r.Header.Get("X-Device-Secret")))
	if subtle.ConstantTimeCompare(got[:], d.secret[:]) != 1 {
		return nil, apiErr(http.StatusNotFound, CodeDeviceNotFound, "no such device")
	}
	return d, nil
}

// devicePath returns the device named in the path.
func (c *CitizenAPI) devicePath(r *http.Request) (*pendingDevice, error) {
	id := chi.URLParam(r, "device_id")
	d, ok := c.devices.Get(id)
	if !deviceIDPattern.MatchString(id) || !ok {
		return nil, apiErr(http.StatusNotFound, CodeDeviceNotFound, "no such device")
	}
	return d, nil
}

// credentialRequest is the body of POST /citizen/v1/devices/{id}/credential.
type credentialRequest struct {
	Credential json.RawMessage `json:"credential"`
}

type credentialResponse struct {
	KeyID        string `json:"key_id"`
	CredentialID string `json:"credential_id"`
}

// citizenDeviceCredential completes a passkey's registration: the
// credential is verified (user verification, ES256) and its key becomes
// the device's JWK and key id.
func (s *Server) citizenDeviceCredential(w http.ResponseWriter, r *http.Request) error {
	c, err := s.citizenAPI()
	if err != nil {
		return err
	}
	d, err := c.deviceBySecret(r)
	if err != nil {
		return err
	}
	var q credentialRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if len(q.Credential) == 0 || q.Credential[0] != '{' {
		return apiErr(http.StatusBadRequest, CodeMalformedJSON, `field "credential" must be of type object`)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.kind != model.KeyWebAuthn || d.reg == nil || d.statusLocked(s.Now()) != deviceStatusPending {
		return apiErr(http.StatusConflict, CodeDeviceNotPending, "the device is not a passkey waiting for its credential")
	}
	dev, err := c.cfg.Passkeys.Finish(d.reg, q.Credential)
	if err != nil {
		s.log.InfoContext(r.Context(), "passkey credential refused", slog.String("request_id", requestIDFrom(r.Context())), slog.String("error", err.Error()))
		return apiErr(http.StatusUnprocessableEntity, CodeCredentialRefused, "the credential does not complete this registration (an ES256 passkey with user verification)")
	}
	d.reg, d.jwk, d.kid, d.credentialID = nil, dev.JWK, dev.KeyID, dev.CredentialID
	writeJSON(w, http.StatusOK, credentialResponse{KeyID: dev.KeyID, CredentialID: dev.CredentialID})
	return nil
}

// deviceView is a device's state for the device itself.
type deviceView struct {
	Status       string `json:"status"`
	KeyID        string `json:"key_id,omitempty"`
	CredentialID string `json:"credential_id,omitempty"`
	Name         string `json:"name,omitempty"`
	Kind         string `json:"kind"`
	Ticket       string `json:"ticket,omitempty"`
}

// citizenDeviceStatus tells the new device whether it has been enrolled;
// once enrolled by another device's approval, it carries a ticket for a
// session, once.
func (s *Server) citizenDeviceStatus(w http.ResponseWriter, r *http.Request) error {
	c, err := s.citizenAPI()
	if err != nil {
		return err
	}
	d, err := c.deviceBySecret(r)
	if err != nil {
		return err
	}
	d.mu.Lock()
	out := deviceView{Status: d.statusLocked(s.Now()), KeyID: d.kid, CredentialID: d.credentialID, Name: d.name, Kind: d.kind, Ticket: d.ticket}
	d.ticket = ""
	d.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
	return nil
}

// approvalView is what an enrolled device signs to let a new one in.
type approvalView struct {
	KeyID     string `json:"key_id"`
	Name      string `json:"name,omitempty"`
	Kind      string `json:"kind"`
	Payload   string `json:"payload"`
	Challenge string `json:"challenge"`
}

// challengeOf is the WebAuthn challenge of signed bytes: the base64url
// SHA-256 of them.
func challengeOf(b []byte) string {
	h := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// pendingWithKey returns the device in the path if it is pending with its
// key.
func (c *CitizenAPI) pendingWithKey(r *http.Request, now time.Time) (*pendingDevice, error) {
	d, err := c.devicePath(r)
	if err != nil {
		return nil, err
	}
	if d.status(now) != deviceStatusPending || d.keyID() == "" {
		return nil, apiErr(http.StatusConflict, CodeDeviceNotPending, "the device is not pending with its key")
	}
	return d, nil
}

// citizenDeviceApproval builds the approval of a pending device for the
// caller's enrolled device to sign.
func (s *Server) citizenDeviceApproval(w http.ResponseWriter, r *http.Request) error {
	c, _, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	d, err := c.pendingWithKey(r, s.Now())
	if err != nil {
		return err
	}
	a := model.EnrolmentApproval{Type: model.EnrolApprovalType, Channel: c.cfg.Channel, KeyID: d.keyID(), Name: d.name,
		IssuedAt: s.Now().UTC().Format(time.RFC3339)}
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, approvalView{KeyID: a.KeyID, Name: d.name, Kind: d.kind,
		Payload: base64.RawURLEncoding.EncodeToString(b), Challenge: challengeOf(b)})
	return nil
}

// approveRequest is the body of POST /citizen/v1/devices/{id}/approval.
type approveRequest struct {
	Payload string `json:"payload"`
	Signer  struct {
		KeyID             string `json:"key_id"`
		Signature         string `json:"signature"`
		AuthenticatorData string `json:"authenticator_data"`
		ClientDataJSON    string `json:"client_data_json"`
	} `json:"signer"`
}

// Validate checks that the payload is an approval of device kid on this
// channel and that the signer is well formed.
func (q *approveRequest) Validate(channel, kid string) error {
	bad := func(format string, args ...any) error {
		return apiErr(http.StatusBadRequest, CodeInvalidArgument, format, args...)
	}
	raw, err := sig.DecodeBase64(q.Payload)
	if err != nil || len(raw) == 0 {
		return bad("payload must be the base64url of the approval")
	}
	var a model.EnrolmentApproval
	if err := json.Unmarshal(raw, &a); err != nil || a.Type != model.EnrolApprovalType || a.Channel != channel {
		return apiErr(http.StatusUnprocessableEntity, string(model.CodeApprovalInvalid), "payload is not an approval of this gateway's")
	}
	if a.KeyID != kid {
		return apiErr(http.StatusConflict, string(model.CodePayloadMismatch), "the approval is for another device")
	}
	if !keyIDPattern.MatchString(q.Signer.KeyID) {
		return bad("signer.key_id must be the approving key's RFC 7638 thumbprint")
	}
	if sg, err := sig.DecodeBase64(q.Signer.Signature); err != nil || len(sg) < 8 || len(sg) > 72 {
		return bad("signer.signature must be the base64 of an ECDSA P-256 signature")
	}
	if (q.Signer.AuthenticatorData == "") != (q.Signer.ClientDataJSON == "") {
		return bad("signer.authenticator_data and signer.client_data_json come together, from a passkey's assertion")
	}
	return nil
}

type approvedResponse struct {
	KeyID string `json:"key_id"`
	Proof string `json:"proof"`
}

// citizenDeviceApprove enrols a pending device for the caller with an
// enrolled device's signed approval as proof; the chaincode checks that
// the signer is an active key of the same citizen. The new device then
// finds itself enrolled, with a ticket for a session.
func (s *Server) citizenDeviceApprove(w http.ResponseWriter, r *http.Request) error {
	c, ref, err := s.citizenCaller(r)
	if err != nil {
		return err
	}
	d, err := c.pendingWithKey(r, s.Now())
	if err != nil {
		return err
	}
	var q approveRequest
	if err := decodeJSON(r, &q); err != nil {
		return err
	}
	if err := q.Validate(c.cfg.Channel, d.keyID()); err != nil {
		return err
	}
	proof := &model.EnrolmentProof{Kind: model.ProofDevice, Approval: q.Payload, Signer: &model.Signature{
		KeyID: q.Signer.KeyID, Signature: q.Signer.Signature,
		AuthenticatorData: q.Signer.AuthenticatorData, ClientDataJSON: q.Signer.ClientDataJSON}}
	if err := s.enrolDevice(r.Context(), c, d, ref, proof); err != nil {
		return err
	}
	d.mu.Lock()
	d.ticket = c.newTicket(ref, d.kid)
	d.mu.Unlock()
	writeJSON(w, http.StatusOK, approvedResponse{KeyID: d.keyID(), Proof: model.ProofDevice})
	return nil
}
