// The consent app's foundations: state, words, DOM building, bytes, the
// device's IndexedDB, the citizen API client and its error messages.
'use strict';

const state = {
  lang: localStorage.getItem('qc.lang') === 'en' ? 'en' : 'zh',
  elder: localStorage.getItem('qc.elder') === '1', // 长辈模式
  token: sessionStorage.getItem('qc.token') || '',
  sub: '',
  device: null, // this device's enrolled key, from IndexedDB (device.js)
  pairing: null, // the new device waiting for an approval
  keyRevoked: false, // this device held a key the ledger no longer holds as active
  auths: new Map(), // id → authorisation as last seen
  accesses: new Map(),
  catNames: new Map(),
  instNames: new Map(), // MSP ID → registered name, as seen in the lists
  deviceName: '', // the name the citizen gave this device at login
  deviceNotices: [], // DeviceAdded events not yet acknowledged
  lastEventId: '',
  evGen: 0,
  evAbort: null,
  screen: '',
};

// t is the text of key in the current language (长辈模式's simpler words
// first), with {name} placeholders filled from vars.
function t(key, vars) {
  let s = (state.elder ? ELDER[state.lang][key] : undefined) ?? DICT[state.lang][key] ?? DICT.zh[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
  return s;
}

// ---------------------------------------------------------------- DOM
// h builds an element; strings become text nodes (never HTML).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);

function facts(rows) {
  return h('dl', {class: 'facts'}, rows.filter(Boolean).map(([k, v, attrs]) => [h('dt', {}, k), h('dd', attrs || {}, v)]));
}

// techDetails folds what only a verifier needs (ids, keys, signatures,
// digests) under 技术详情, closed by default.
function techDetails(id, ...children) {
  return h('details', {class: 'tech', id},
    h('summary', {}, t('tech')),
    h('p', {class: 'hint'}, t('tech.hint')),
    children);
}

function toast(msg, kind) {
  const el = h('p', {class: 'toast', 'data-kind': kind || 'info'}, msg);
  const box = $('#toasts');
  box.append(el);
  // The newest two stay (one in 长辈模式), for six seconds.
  while (box.children.length > (state.elder ? 1 : 2)) box.firstElementChild.remove();
  setTimeout(() => el.remove(), 6000);
}

function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return s;
  return d.toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB', {dateStyle: 'medium', timeStyle: 'short'});
}

// fmtLife says a number of days in years or months when it is a whole
// number of them: 1825 → 5 年, 365 → 1 年, 90 → 3 个月.
function fmtLife(days) {
  const n = Number(days) || 0;
  let unit = 'days';
  let v = n;
  if (n >= 365 && n % 365 === 0) { unit = 'years'; v = n / 365; }
  else if (n >= 30 && n % 30 === 0) { unit = 'months'; v = n / 30; }
  const one = 'life.' + unit.slice(0, -1);
  return v === 1 && DICT[state.lang][one] ? t(one) : t('life.' + unit, {n: v});
}

function short(s, n = 12) { return s && s.length > n + 3 ? s.slice(0, n) + '…' : (s || ''); }

function statusBadge(st) { return h('span', {class: 'status ' + st, 'data-status': st}, t('st.' + st)); }

function catName(code) {
  const c = state.catNames.get(code);
  return (c && (state.lang === 'zh' ? c.name_zh : c.name_en)) || code;
}

function catLabel(code) {
  const c = state.catNames.get(code);
  return h('span', {class: 'tag' + (c && c.sensitive ? ' sensitive' : ''), 'data-category': code},
    catName(code), c && c.sensitive ? ' · ' + t('sensitive') : '');
}

// sensitiveNote explains 敏感 under a list of categories holding any.
function sensitiveNote(codes) {
  const any = (codes || []).some((c) => (state.catNames.get(c) || {}).sensitive);
  return any ? h('p', {class: 'note sensitive-note'}, t('sensitive.what')) : null;
}

// fieldNames lists the fields a category delivers, in the current
// language: 缴存单位、缴存基数、月缴存额. With version, only if the
// category's registered schema is that version ('' otherwise).
function fieldNames(code, version) {
  const c = state.catNames.get(code);
  if (!c || !(c.fields || []).length) return '';
  if (version !== undefined && c.schema_version !== version) return '';
  return c.fields.map((f) => (state.lang === 'zh' ? f.name_zh : f.name_en)).join(state.lang === 'zh' ? '、' : ', ');
}

// fieldList says, for each category, the fields it delivers (最少必要):
// “住房公积金：缴存单位、缴存基数、月缴存额”. versions, from a signed payload,
// are the schema versions in the categories' order.
function fieldList(codes, versions) {
  return h('ul', {class: 'plain fields'}, (codes || []).map((code, i) => {
    const v = versions ? versions[i] : undefined;
    const names = fieldNames(code, v);
    return h('li', {'data-fields': code, 'data-schema': v === undefined ? null : String(v)},
      h('strong', {}, catName(code)), state.lang === 'zh' ? '：' : ': ',
      names || (v ? t('fields.unknown', {v}) : t('fields.none')));
  }));
}

// contactLink makes an institution's contact a link: tel: for a number,
// the https URL itself otherwise.
function contactLink(contact) {
  if (!contact) return '—';
  if (/^https:\/\//.test(contact)) return h('a', {href: contact, rel: 'noopener noreferrer', target: '_blank'}, contact);
  return h('a', {href: 'tel:' + contact.replace(/[^0-9+]/g, '')}, contact);
}

// fmtValue shows a record's value for the citizen: amounts in fen as
// yuan, rates as percentages, the rest as they are.
function fmtValue(key, v) {
  if (v === null || v === undefined) return '—';
  if (/_fen$/.test(key) && typeof v === 'number') {
    return '¥' + (v / 100).toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB', {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }
  if (/_percent$/.test(key) && typeof v === 'number') return v + '%';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

// defaultDeviceName suggests a name for this device from the browser's
// user agent: “iPhone”, “Android 手机”, “Mac”…
function defaultDeviceName() {
  const ua = navigator.userAgent || '';
  const known = [[/iPhone/, 'iPhone'], [/iPad/, 'iPad'], [/HarmonyOS/, t('device.harmony')], [/Android/, t('device.android')],
    [/Macintosh|Mac OS X/, 'Mac'], [/Windows/, t('device.windows')], [/CrOS/, 'Chromebook'], [/Linux/, t('device.linux')]];
  for (const [re, name] of known) if (re.test(ua)) return name;
  return t('device.browser');
}

// deviceNameOK checks a device name as the ledger does: not blank, at
// most 64 bytes of UTF-8, no control characters, no ID number.
function deviceNameOK(s) {
  return s.trim() !== '' && new TextEncoder().encode(s).length <= 64 && !/\p{Cc}/u.test(s) && !/[0-9]{17}[0-9Xx]/.test(s);
}

function learnCategories(list) {
  for (const c of list || []) if (c && c.category) state.catNames.set(c.category, c);
}

function instName(info, msp) {
  if (info && info.name) {
    state.instNames.set(msp || info.msp_id, info.name);
    return info.name;
  }
  return state.instNames.get(msp) || msp || '';
}

// purposeText is a purpose's name and plain explanation: the registry's
// name when the list gave it, else the app's own words for the code.
function purposeText(code, info) {
  const own = PURPOSES[state.lang][code] || [];
  const name = (info && (state.lang === 'zh' ? info.name_zh : info.name_en)) || own[0] || code;
  return {name, plain: own[1] || ''};
}

// ---------------------------------------------------------------- bytes
function b64ToBytes(b64) {
  const bin = atob(b64.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
function bytesToB64(buf) {
  const b = new Uint8Array(buf);
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}
async function sha256Hex(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (x) => x.toString(16).padStart(2, '0')).join('');
}
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
function jwtClaims(tok) {
  try {
    const p = tok.split('.')[1];
    return JSON.parse(new TextDecoder().decode(b64ToBytes(p + '='.repeat((4 - p.length % 4) % 4))));
  } catch (e) {
    return {};
  }
}

// ---------------------------------------------------------------- IndexedDB
// Store "keys": this device's key record (device.js): a passkey's ids, or a
// WebCrypto CryptoKeyPair whose private key is not extractable. Store "receipts": a copy of every decision receipt the app has
// seen, because the ledger's authorisation keeps only its last decision.
function idb() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open('quanchain-consent', 2);
    r.onupgradeneeded = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains('keys')) db.createObjectStore('keys');
      if (!db.objectStoreNames.contains('receipts')) db.createObjectStore('receipts');
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function idbDo(store, mode, fn) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const req = fn(tx.objectStore(store));
    tx.oncomplete = () => { db.close(); resolve(req.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  });
}
const idbGet = (k) => idbDo('keys', 'readonly', (s) => s.get(k));
const idbPut = (k, v) => idbDo('keys', 'readwrite', (s) => s.put(v, k));
const idbDel = (k) => idbDo('keys', 'readwrite', (s) => s.delete(k));

// keepDecision keeps the receipt of a's last decision on this device, so
// it can still be opened after a later decision replaces it on the ledger.
const keptTx = new Set(); // receipts already copied in this page's life

async function keepDecision(a) {
  if (!a || !a.last_decision || !a.last_decision.tx_id || !state.sub) return;
  const d = a.last_decision;
  const slot = state.sub + ':' + d.tx_id;
  if (keptTx.has(slot)) return;
  keptTx.add(slot);
  try {
    await idbDo('receipts', 'readwrite', (s) => s.put({sub: state.sub, authorization_id: a.id, decision: d,
      requester: a.requester, kept_at: new Date().toISOString()}, slot));
  } catch (e) { /* a receipt copy is a convenience; the ledger holds the facts */ }
}

// decisionsOf returns every decision on authorisation a this device knows
// of, newest first: the ledger's last one and the copies kept before.
async function decisionsOf(a) {
  let kept = [];
  try {
    kept = await idbDo('receipts', 'readonly', (s) => s.getAll());
  } catch (e) { kept = []; }
  const byTx = new Map();
  for (const r of kept || []) {
    if (r.sub === state.sub && r.authorization_id === a.id) byTx.set(r.decision.tx_id, r.decision);
  }
  if (a.last_decision) byTx.set(a.last_decision.tx_id, a.last_decision);
  return [...byTx.values()].sort((x, y) => (y.at || '').localeCompare(x.at || ''));
}

// ---------------------------------------------------------------- API
class APIError extends Error {
  constructor(status, code, message, requestId) {
    super(message || code || String(status));
    this.status = status;
    this.code = code || '';
    this.requestId = requestId || '';
  }
}

async function api(method, path, body, headers) {
  const init = {method, headers: Object.assign({Accept: 'application/json'}, headers || {}), cache: 'no-store'};
  if (state.token) init.headers.Authorization = 'Bearer ' + state.token;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new APIError(0, 'NETWORK', 'network error');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || {};
    const e = new APIError(res.status, err.code, err.message, err.request_id || res.headers.get('X-Request-Id'));
    // Only a token the gateway no longer accepts ends the session.
    if (res.status === 401 && state.token) expire();
    throw e;
  }
  return data;
}

// errorInfo is what the citizen is told about e: the text, and the form
// field it is about, if any. ctx names the call ("login", "devices",
// "approve"…) for the codes whose meaning depends on it.
function errorInfo(e, ctx) {
  const E = ERRORS[state.lang];
  if (e instanceof PasskeyError) return {text: e.message};
  if (!(e instanceof APIError)) return {text: (e && e.message) || String(e)};
  if (e.status === 0) return {text: E.NETWORK};
  const text = E[ctx + '.' + e.code] || E[e.code] || (ctx === 'login' ? E['login.failed'] :
    e.status === 401 ? E.INVALID_TOKEN : e.status === 429 ? E.RATE_LIMITED : e.status >= 500 ? E.INTERNAL : E.generic);
  return {text, field: ''};
}

// showError shows err in the banner: a message in words, the code and
// request id only in a folded detail for support. err may be text.
function showError(err, ctx) {
  const el = $('#error');
  el.replaceChildren();
  el.hidden = !err;
  if (!err) return;
  if (typeof err === 'string') {
    el.append(h('p', {}, err));
    return;
  }
  el.append(h('p', {}, errorInfo(err, ctx).text));
  if (err instanceof APIError && (err.code || err.requestId)) {
    el.append(h('details', {class: 'error-detail'}, h('summary', {}, t('err.detail')),
      h('p', {}, err.code ? t('err.code') + ' ' + err.code : '', err.code && err.requestId ? ' · ' : '',
        err.requestId ? t('err.request') + ' ' + err.requestId : '')));
  }
}
