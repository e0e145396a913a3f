// This device's key: a passkey (WebAuthn, with the phone's screen lock or
// biometric as user verification), or, only in a browser without WebAuthn,
// a non-extractable WebCrypto key the operator may refuse. Nothing here
// draws a screen; login.js and screens.js do.
//
// # Enrolment
//
// A device is created at the gateway before anyone logs in
// (POST /citizen/v1/devices, answered with a device id, a secret that
// proves this browser created it, and the passkey's creation options), its
// credential is handed in (POST …/credential), and the ledger enrols it
// only with a proof: the identity provider's ID token of the login that
// follows, or the signed approval of a device the citizen already has. A
// session alone never enrols a key.
//
// # What is kept
//
// One record per browser profile in IndexedDB (store "keys", key
// "this-device"): kind, key id, credential id, the device id, its name, the
// citizen it was enrolled for (sub) and, for a WebCrypto key, the
// CryptoKeyPair whose private key the browser refuses to export. While the
// device waits for its proof, the record also holds the device secret; it is
// dropped once the device is enrolled. A passkey's private key never leaves
// the authenticator.
//
// # Signing
//
// A passkey signs a WebAuthn assertion whose challenge is the base64url
// SHA-256 of the bytes shown: the app computes it itself from those bytes
// and refuses a challenge from the gateway that differs.
'use strict';

const DEVICE_SLOT = 'this-device';

// ---------------------------------------------------------------- base64url
function bytesToB64u(buf) {
  return bytesToB64(buf).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function sha256B64u(bytes) {
  return bytesToB64u(await crypto.subtle.digest('SHA-256', bytes));
}

// hasWebAuthn reports whether this browser can make passkeys.
function hasWebAuthn() {
  return typeof window.PublicKeyCredential === 'function' && !!(navigator.credentials && navigator.credentials.create);
}

// ---------------------------------------------------------------- the record
async function loadThisDevice() {
  try {
    return (await idbGet(DEVICE_SLOT)) || null;
  } catch (e) {
    return null;
  }
}

const saveThisDevice = (rec) => idbPut(DEVICE_SLOT, rec);

// forgetThisDevice drops this device's record (its key was revoked, or it
// never finished enrolling): the next login makes a new passkey.
async function forgetThisDevice() {
  try {
    await idbDel(DEVICE_SLOT);
  } catch (e) { /* nothing kept */ }
}

// ---------------------------------------------------------------- creation
// creationOptions turns the gateway's PublicKeyCredentialCreationOptions
// (binary members base64url) into what navigator.credentials.create takes.
function creationOptions(o) {
  const pk = Object.assign({}, (o && o.publicKey) || o);
  pk.challenge = b64ToBytes(pk.challenge);
  pk.user = Object.assign({}, pk.user, {id: b64ToBytes(pk.user.id)});
  if (pk.excludeCredentials) pk.excludeCredentials = pk.excludeCredentials.map((c) => Object.assign({}, c, {id: b64ToBytes(c.id)}));
  return pk;
}

// credentialJSON is a new credential as the gateway reads it: id, rawId,
// type and the response's members, binary ones base64url.
function credentialJSON(cred) {
  const r = cred.response;
  const out = {
    id: cred.id, rawId: bytesToB64u(cred.rawId), type: cred.type,
    response: {clientDataJSON: bytesToB64u(r.clientDataJSON), attestationObject: bytesToB64u(r.attestationObject)},
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
  };
  if (r.getTransports) out.response.transports = r.getTransports();
  if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
  return out;
}

// PasskeyError is a WebAuthn failure said in words: the citizen cancelled
// or let the prompt time out, or the browser refused.
class PasskeyError extends Error {
  constructor(key, cause) {
    super(t(key));
    this.key = key;
    this.cause = cause;
  }
}

function passkeyFailed(e) {
  if (e && e.name === 'NotAllowedError') return new PasskeyError('passkey.cancelled', e);
  if (e && e.name === 'InvalidStateError') return new PasskeyError('passkey.exists', e);
  if (e && e.name === 'SecurityError') return new PasskeyError('passkey.insecure', e);
  return new PasskeyError('passkey.failed', e);
}

// createDevice creates this device at the gateway under name and makes its
// key: a passkey where the browser has WebAuthn, else a WebCrypto key
// (which the gateway refuses with 403 USER_VERIFICATION_REQUIRED unless the
// operator allows unverified keys). It keeps and returns the pending
// record; the device is enrolled by the login or approval that follows.
async function createDevice(name) {
  let rec;
  if (hasWebAuthn()) {
    const res = await api('POST', '/citizen/v1/devices', {kind: 'webauthn', name});
    let cred;
    try {
      cred = await navigator.credentials.create({publicKey: creationOptions(res.options)});
    } catch (e) {
      throw passkeyFailed(e);
    }
    if (!cred) throw new PasskeyError('passkey.failed');
    const out = await api('POST', '/citizen/v1/devices/' + encodeURIComponent(res.device_id) + '/credential',
      {credential: credentialJSON(cred)}, {'X-Device-Secret': res.device_secret});
    rec = {kind: 'webauthn', keyId: out.key_id, credentialId: out.credential_id || cred.id, deviceId: res.device_id,
      secret: res.device_secret, expiresAt: res.expires_at, name, status: 'pending'};
  } else {
    if (!window.crypto || !crypto.subtle) throw new Error(t('err.crypto'));
    const pair = await crypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign', 'verify']);
    const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
    const res = await api('POST', '/citizen/v1/devices',
      {kind: 'webcrypto', jwk: {kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y}, name});
    rec = {kind: 'webcrypto', keyId: res.key_id, keyPair: pair, deviceId: res.device_id, secret: res.device_secret,
      expiresAt: res.expires_at, name, status: 'pending'};
  }
  await saveThisDevice(rec);
  return rec;
}

// devicePending reports whether rec still waits for its proof and may
// still get it (a pending device lives 10 minutes at the gateway).
function devicePending(rec) {
  return !!rec && rec.status === 'pending' && !!rec.secret && Date.parse(rec.expiresAt || '') > Date.now() + 30 * 1000;
}

// deviceStatus asks the gateway how the pending device rec stands:
// {status: pending|enrolled|expired, key_id, name, kind, ticket?}.
function deviceStatus(rec) {
  return api('GET', '/citizen/v1/devices/' + encodeURIComponent(rec.deviceId), undefined, {'X-Device-Secret': rec.secret});
}

// markEnrolled records that the ledger holds rec's key for citizen sub and
// drops the device secret, which has done its work.
async function markEnrolled(rec, sub) {
  const next = Object.assign({}, rec, {status: 'enrolled', sub, enrolledAt: new Date().toISOString()});
  delete next.secret;
  delete next.expiresAt;
  await saveThisDevice(next);
  return next;
}

// ---------------------------------------------------------------- signing
// signBytes signs bytes with this device's key dev. For a passkey it makes
// an assertion over challenge (base64url SHA-256 of bytes, computed here;
// a different one from the gateway is refused) with user verification
// required: the phone asks for its screen lock or biometric. It returns
// the signature members of a decision or an approval.
async function signBytes(dev, bytes, gatewayChallenge) {
  if (dev.kind !== 'webauthn') {
    const sig = await crypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, dev.keyPair.privateKey, bytes);
    return {key_id: dev.keyId, signature: bytesToB64(sig)};
  }
  const challenge = await sha256B64u(bytes);
  if (gatewayChallenge && gatewayChallenge.replace(/=+$/, '') !== challenge) throw new Error(t('decide.mismatch'));
  let a;
  try {
    a = await navigator.credentials.get({publicKey: {
      challenge: b64ToBytes(challenge),
      rpId: location.hostname,
      allowCredentials: [{type: 'public-key', id: b64ToBytes(dev.credentialId)}],
      userVerification: 'required',
      timeout: 120000,
    }});
  } catch (e) {
    throw passkeyFailed(e);
  }
  if (!a) throw new PasskeyError('passkey.failed');
  return {key_id: dev.keyId, signature: bytesToB64u(a.response.signature),
    authenticator_data: bytesToB64u(a.response.authenticatorData), client_data_json: bytesToB64u(a.response.clientDataJSON)};
}
