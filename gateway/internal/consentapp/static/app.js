// The consent app. Plain JavaScript, no framework, no build step; it talks
// only to the citizen API of its own origin (see docs/app.md).
'use strict';

// ---------------------------------------------------------------- i18n
// Domain terms keep their Chinese names in English too.
const DICT = {
  zh: {
    skip: '跳到主要内容', brand: '泉城链 · 我的授权', logout: '退出', 'live.title': '实时更新',
    'nav.label': '主菜单', 'nav.data': '我的数据', 'nav.pending': '待处理', 'nav.active': '有效授权',
    'nav.history': '使用记录', 'nav.devices': '设备',
    'login.title': '登录', 'login.intro': '使用实名信息登录。登录后本机会生成一把不可导出的签名密钥，用于您的每一次授权。',
    'login.id': '身份证号', 'login.name': '姓名', 'login.phone': '手机号', 'login.send': '获取验证码',
    'login.code': '验证码', 'login.codeHint': '验证码已发送到您登记的手机。', 'login.verify': '登录',
    'login.back': '重新填写', 'login.keying': '正在为本机生成并登记签名密钥…',
    'data.title': '我的数据 · 数字保险箱', 'data.intro': '数字保险箱中为您保存的政务数据，每一批都已在链上锚定。',
    'data.records': '{n} 条记录', 'data.period': '数据期间', 'data.unbatched': '待锚定', 'data.batch': '批次',
    'data.root': '默克尔根', 'data.anchorTx': '锚定交易', 'data.anchoredAt': '锚定时间', 'data.notAnchored': '尚未上链',
    'data.empty': '保险箱中暂无您的数据。', sensitive: '敏感',
    'pending.title': '待处理的授权请求',
    'principles': '逐笔授权：每一次使用都需要您的签名同意。最少必要：机构只能获取所列数据，且不超过所列期间和次数。',
    'pending.empty': '没有待处理的请求。新的请求会自动出现在这里。',
    'f.who': '申请机构', 'f.licence': '许可证号', 'f.purpose': '用途', 'f.categories': '数据类别', 'f.period': '数据期间',
    'f.valid': '有效期至', 'f.uses': '使用次数', 'f.store': '数据留存', 'f.requested': '申请时间', 'f.status': '状态',
    'f.auth': '授权编号', 'f.tx': '交易号', 'f.when': '时间', 'f.key': '签名密钥', 'f.sig': '签名', 'f.digest': 'SHA-256 摘要',
    'f.action': '操作', 'f.seq': '序号', 'f.channel': '通道', 'f.issued': '生成时间', 'f.ref': '公民标识', 'f.refHash': '业务编号摘要',
    'f.provider': '数据提供方', 'f.mode': '方式', 'f.records': '记录数', 'f.useNo': '第几次使用', 'f.requestTx': '申请交易号',
    'f.payload': '签名内容（原始字节）', 'f.base64': 'Base64',
    'uses.max': '最多 {max} 次', 'uses.used': '已用 {uses} / {max} 次',
    'store.no': '不得留存，仅用于本次办理', 'store.yes': '可留存 {days} 天，到期删除',
    'btn.grant': '同意', 'btn.deny': '拒绝', 'btn.pause': '暂停', 'btn.resume': '恢复', 'btn.revoke': '撤销',
    'btn.receipt': '查看凭证', 'btn.back': '返回', 'btn.cancel': '取消', 'btn.retry': '重试',
    'act.GRANT': '同意授权', 'act.DENY': '拒绝授权', 'act.PAUSE': '暂停授权', 'act.RESUME': '恢复授权', 'act.REVOKE': '撤销授权',
    'st.PENDING': '待处理', 'st.GRANTED': '已授权', 'st.PAUSED': '已暂停', 'st.DENIED': '已拒绝', 'st.REVOKED': '已撤销',
    'st.WITHDRAWN': '机构已撤回', 'st.EXPIRED': '已过期', 'st.EXHAUSTED': '次数已用完', 'st.ACTIVE': '有效',
    'decide.title': '确认并签名：{action}',
    'decide.intro': '以下内容由本机从即将签名的原始字节解码显示。签名后，连运营方也无法更改这份授权。',
    'decide.sign': '用本机密钥签名：{action}', 'decide.signing': '正在签名并上链…',
    'decide.mismatch': '待签名内容与所选请求不一致，已停止签名。', 'decide.bytes': '{n} 字节',
    'decide.nokey': '本机没有有效的签名密钥。请重新登录，为本机登记新密钥。',
    'active.title': '有效授权', 'active.empty': '没有有效授权。', 'active.ended': '已结束的授权',
    'history.title': '使用记录', 'history.intro': '每一次机构使用您的数据，都记录在链上。',
    'history.empty': '您的数据尚未被使用。', 'history.used': '{who} 使用了您的数据',
    'receipt.title': '凭证', 'receipt.decision': '授权凭证', 'receipt.use': '使用凭证',
    'receipt.intro': '以下事实记录在账本上，任何成员机构或监管方都可以凭交易号在自己的节点上核验。',
    'receipt.verify': '签名内容的 SHA-256 与链上保存的签名内容一致即可验证；签名可用登记的公钥（密钥编号）验证。',
    'devices.title': '我的设备', 'devices.intro': '每台设备有自己的签名密钥。设备丢失时，请在这里撤销它的密钥。',
    'devices.this': '本机', 'devices.added': '登记时间', 'devices.revokedAt': '撤销时间',
    'devices.confirm': '确认撤销', 'devices.register': '重新登录并为本机登记新密钥', 'devices.revoked': '密钥已撤销。',
    'devices.ownRevoked': '本机密钥已撤销，本机不能再签名授权。',
    'ev.requested': '收到新的授权请求', 'ev.used': '您的数据刚刚被使用', 'ev.changed': '授权状态已更新：{status}',
    'ev.withdrawn': '机构撤回了一个授权请求',
    'done.decided': '已提交：{action}。交易号 {tx}',
    'err.session': '登录已过期，请重新登录。', 'err.conflict': '该请求已经处理过或状态已改变（{code}），请刷新后查看。',
    'err.signature': '签名未被接受（{code}）。请确认本机密钥仍然有效。', 'err.network': '网络连接失败，请稍后重试。',
    'err.keyRevoked': '本机密钥已被撤销，请重新登录，为本机登记新密钥。', 'err.crypto': '本浏览器不支持安全签名（WebCrypto）。',
    'err.generic': '请求失败（{status} {code}）：{message}', 'err.invalidCode': '验证码不正确或已过期。',
    loading: '加载中…',
  },
  en: {
    skip: 'Skip to content', brand: 'Quanchain · My consents', logout: 'Log out', 'live.title': 'Live updates',
    'nav.label': 'Main menu', 'nav.data': 'My data', 'nav.pending': 'Waiting', 'nav.active': 'Active',
    'nav.history': 'Uses', 'nav.devices': 'Devices',
    'login.title': 'Log in', 'login.intro': 'Log in with your real-name details. This device then creates a signing key that never leaves it, used for each of your consents.',
    'login.id': 'ID number', 'login.name': 'Name', 'login.phone': 'Phone', 'login.send': 'Send code',
    'login.code': 'One-time code', 'login.codeHint': 'The code was sent to your registered phone.', 'login.verify': 'Log in',
    'login.back': 'Start again', 'login.keying': 'Creating and registering this device\'s signing key…',
    'data.title': 'My data · 数字保险箱', 'data.intro': 'The government data your 数字保险箱 (digital safe) holds; every batch is anchored on the ledger.',
    'data.records': '{n} records', 'data.period': 'Period', 'data.unbatched': 'Awaiting anchoring', 'data.batch': 'Batch',
    'data.root': 'Merkle root', 'data.anchorTx': 'Anchor tx', 'data.anchoredAt': 'Anchored at', 'data.notAnchored': 'not yet anchored',
    'data.empty': 'Your safe holds no data yet.', sensitive: 'sensitive',
    'pending.title': 'Requests waiting',
    'principles': '逐笔授权 (consent per request): each use needs your signed consent. 最少必要 (minimum necessary): only the listed data, period and number of uses.',
    'pending.empty': 'No requests waiting. New ones appear here by themselves.',
    'f.who': 'Institution', 'f.licence': 'Licence', 'f.purpose': 'Purpose', 'f.categories': 'Data', 'f.period': 'Data period',
    'f.valid': 'Valid until', 'f.uses': 'Uses', 'f.store': 'Storage', 'f.requested': 'Requested', 'f.status': 'Status',
    'f.auth': 'Authorisation', 'f.tx': 'Transaction', 'f.when': 'When', 'f.key': 'Signing key', 'f.sig': 'Signature', 'f.digest': 'SHA-256 digest',
    'f.action': 'Action', 'f.seq': 'Seq', 'f.channel': 'Channel', 'f.issued': 'Issued', 'f.ref': 'Citizen ref', 'f.refHash': 'Reference hash',
    'f.provider': 'Provider', 'f.mode': 'Mode', 'f.records': 'Records', 'f.useNo': 'Use number', 'f.requestTx': 'Request tx',
    'f.payload': 'Signed content (exact bytes)', 'f.base64': 'Base64',
    'uses.max': 'at most {max}', 'uses.used': '{uses} of {max} used',
    'store.no': 'may not be kept; used for this case only', 'store.yes': 'may be kept {days} days, then deleted',
    'btn.grant': 'Grant', 'btn.deny': 'Deny', 'btn.pause': 'Pause', 'btn.resume': 'Resume', 'btn.revoke': 'Revoke',
    'btn.receipt': 'Receipt', 'btn.back': 'Back', 'btn.cancel': 'Cancel', 'btn.retry': 'Retry',
    'act.GRANT': 'grant', 'act.DENY': 'deny', 'act.PAUSE': 'pause', 'act.RESUME': 'resume', 'act.REVOKE': 'revoke',
    'st.PENDING': 'waiting', 'st.GRANTED': 'granted', 'st.PAUSED': 'paused', 'st.DENIED': 'denied', 'st.REVOKED': 'revoked',
    'st.WITHDRAWN': 'withdrawn', 'st.EXPIRED': 'expired', 'st.EXHAUSTED': 'used up', 'st.ACTIVE': 'active',
    'decide.title': 'Confirm and sign: {action}',
    'decide.intro': 'This is decoded on this device from the very bytes it will sign. Once signed, not even the operator can change it.',
    'decide.sign': 'Sign with this device: {action}', 'decide.signing': 'Signing and submitting…',
    'decide.mismatch': 'The content to sign does not match the request; signing stopped.', 'decide.bytes': '{n} bytes',
    'decide.nokey': 'This device has no valid signing key. Log in again to register a new one.',
    'active.title': 'Active authorisations', 'active.empty': 'No active authorisations.', 'active.ended': 'Ended',
    'history.title': 'Uses of my data', 'history.intro': 'Every use of your data by an institution is recorded on the ledger.',
    'history.empty': 'Your data has not been used.', 'history.used': '{who} used your data',
    'receipt.title': 'Receipt', 'receipt.decision': 'Decision receipt', 'receipt.use': 'Use receipt',
    'receipt.intro': 'These facts are on the ledger: any member or the regulator can check them on its own peer by transaction id.',
    'receipt.verify': 'The SHA-256 of the signed content matches the content kept on the ledger; the signature verifies with the registered public key (key id).',
    'devices.title': 'My devices', 'devices.intro': 'Each device has its own signing key. If a device is lost, revoke its key here.',
    'devices.this': 'this device', 'devices.added': 'Added', 'devices.revokedAt': 'Revoked',
    'devices.confirm': 'Confirm revoke', 'devices.register': 'Log in again to register a new key', 'devices.revoked': 'Key revoked.',
    'devices.ownRevoked': 'This device\'s key is revoked; it can no longer sign.',
    'ev.requested': 'New request for your consent', 'ev.used': 'Your data was just used', 'ev.changed': 'Authorisation now {status}',
    'ev.withdrawn': 'An institution withdrew a request',
    'done.decided': 'Submitted: {action}. Transaction {tx}',
    'err.session': 'Your session has expired. Please log in again.', 'err.conflict': 'This request was already decided or has changed ({code}). Refresh to see it.',
    'err.signature': 'The signature was refused ({code}). Check that this device\'s key is still valid.', 'err.network': 'Network error, please try again.',
    'err.keyRevoked': 'This device\'s key was revoked: log in again to register a new one.', 'err.crypto': 'This browser cannot sign securely (WebCrypto).',
    'err.generic': 'Request failed ({status} {code}): {message}', 'err.invalidCode': 'The code is wrong or has expired.',
    loading: 'Loading…',
  },
};

const PURPOSE_PLAIN = {
  zh: {
    CREDIT_ASSESSMENT: '银行审核您的贷款申请，核实收入与资产。',
    LOAN_MONITORING: '银行在贷款期间定期核实您的还款能力。',
    CLAIM_SETTLEMENT: '保险公司核实理赔所需的事实。',
    UNDERWRITING: '保险公司核保时评估风险。',
  },
  en: {
    CREDIT_ASSESSMENT: 'The bank checks your income and assets for your loan application.',
    LOAN_MONITORING: 'The bank checks your ability to repay during the loan.',
    CLAIM_SETTLEMENT: 'The insurer checks the facts a claim needs.',
    UNDERWRITING: 'The insurer assesses the risk before covering you.',
  },
};

const state = {
  lang: localStorage.getItem('qc.lang') === 'en' ? 'en' : 'zh',
  token: sessionStorage.getItem('qc.token') || '',
  sub: '',
  device: null, // {keyPair, keyId} from IndexedDB
  auths: new Map(), // id → authorisation as last seen
  accesses: new Map(),
  catNames: new Map(),
  lastEventId: '',
  evGen: 0,
  evAbort: null,
  screen: '',
};

function t(key, vars) {
  let s = DICT[state.lang][key] ?? DICT.zh[key] ?? key;
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

function applyStaticText() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('brand');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  const lang = $('#lang');
  lang.textContent = state.lang === 'zh' ? 'English' : '中文';
  lang.lang = state.lang === 'zh' ? 'en' : 'zh-CN';
}

function showError(msg) {
  const el = $('#error');
  el.textContent = msg || '';
  el.hidden = !msg;
}

function toast(msg, kind) {
  const el = h('p', {class: 'toast', 'data-kind': kind || 'info'}, msg);
  const box = $('#toasts');
  box.append(el);
  while (box.children.length > 2) box.firstElementChild.remove(); // the newest two stay
  setTimeout(() => el.remove(), 8000);
}

function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return s;
  return d.toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB', {dateStyle: 'medium', timeStyle: 'short'});
}

function short(s, n = 12) { return s && s.length > n + 3 ? s.slice(0, n) + '…' : (s || ''); }

function statusBadge(st) { return h('span', {class: 'status ' + st, 'data-status': st}, t('st.' + st)); }

function catLabel(code) {
  const c = state.catNames.get(code);
  const name = c ? (state.lang === 'zh' ? c.name_zh : c.name_en) || code : code;
  return h('span', {class: 'tag' + (c && c.sensitive ? ' sensitive' : ''), 'data-category': code},
    name, c && c.sensitive ? ' · ' + t('sensitive') : '');
}

function learnCategories(list) {
  for (const c of list || []) if (c && c.category) state.catNames.set(c.category, c);
}

function instName(info, msp) {
  return (info && info.name) || msp || '';
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
// The device key pair is kept as a CryptoKeyPair object: the private key is
// not extractable, so the browser never hands out its bytes.
function idb() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open('quanchain-consent', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('keys');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function idbDo(mode, fn) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('keys', mode);
    const req = fn(tx.objectStore('keys'));
    tx.oncomplete = () => { db.close(); resolve(req.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  });
}
const idbGet = (k) => idbDo('readonly', (s) => s.get(k));
const idbPut = (k, v) => idbDo('readwrite', (s) => s.put(v, k));
const idbDel = (k) => idbDo('readwrite', (s) => s.delete(k));

// ---------------------------------------------------------------- API
class APIError extends Error {
  constructor(status, code, message) {
    super(message || code || String(status));
    this.status = status;
    this.code = code || '';
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
    throw new APIError(0, 'NETWORK', t('err.network'));
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || {};
    const e = new APIError(res.status, err.code, err.message);
    if (res.status === 401 && state.token) expire();
    throw e;
  }
  return data;
}

function errorText(e) {
  if (!(e instanceof APIError)) return (e && e.message) || String(e);
  if (e.status === 0) return t('err.network');
  if (e.code === 'INVALID_CODE') return t('err.invalidCode');
  if (e.status === 401) return t('err.session');
  if (e.code === 'KEY_REVOKED' || e.code === 'KEY_NOT_FOUND') return t('err.keyRevoked');
  if (e.status === 409) return t('err.conflict', {code: e.code});
  if (e.status === 422 && /SIGNATURE|PAYLOAD|KEY/.test(e.code)) return t('err.signature', {code: e.code});
  return t('err.generic', {status: e.status, code: e.code, message: e.message});
}

// ---------------------------------------------------------------- session
function expire() {
  logout();
  showError(t('err.session'));
}

function logout() {
  state.token = '';
  state.sub = '';
  state.device = null;
  state.evGen++;
  if (state.evAbort) state.evAbort.abort();
  sessionStorage.removeItem('qc.token');
  setLive(false);
  $('#tabs').hidden = true;
  $('#logout').hidden = true;
  location.hash = '#/login';
  route();
}

// startSession starts a session; register says whether this device may
// create and register a new key (only right after a one-time-code login,
// never on a reload: a revoked device must prove the phone again).
async function startSession(token, register) {
  state.token = token;
  state.sub = jwtClaims(token).sub || '';
  sessionStorage.setItem('qc.token', token);
  $('#tabs').hidden = false;
  $('#logout').hidden = false;
  await ensureDeviceKey(register);
  startEvents();
  refreshPendingCount();
}

// ensureDeviceKey loads this device's key for the citizen from IndexedDB
// and checks that the ledger still holds it as active. Otherwise, if
// register is set, it creates a new non-extractable ECDSA P-256 key pair,
// keeps it in IndexedDB and registers its public key.
async function ensureDeviceKey(register) {
  if (!window.crypto || !crypto.subtle) throw new Error(t('err.crypto'));
  const slot = 'device:' + state.sub;
  const rec = await idbGet(slot);
  state.device = null;
  if (rec) {
    const {keys} = await api('GET', '/citizen/v1/keys');
    if (keys.some((k) => k.key_id === rec.keyId && k.status === 'ACTIVE')) {
      state.device = rec;
      return;
    }
  }
  if (!register) return;
  const pair = await crypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign', 'verify']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const res = await api('POST', '/citizen/v1/keys', {jwk: {kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y}},
    {'Idempotency-Key': uuid()});
  const next = {keyPair: pair, keyId: res.key_id, addedAt: new Date().toISOString()};
  await idbPut(slot, next);
  state.device = next;
}

// ---------------------------------------------------------------- live events
function setLive(on) {
  const el = $('#live');
  if (el) el.dataset.state = on ? 'on' : 'off';
}

// startEvents reads /citizen/v1/events with fetch (the token goes in the
// Authorization header, which EventSource cannot send) and reconnects when
// the stream ends, resuming from the last event id.
function startEvents() {
  const gen = ++state.evGen;
  if (state.evAbort) state.evAbort.abort();
  (async () => {
    let retry = 3000;
    while (state.token && gen === state.evGen) {
      const ctrl = new AbortController();
      state.evAbort = ctrl;
      try {
        const headers = {Authorization: 'Bearer ' + state.token, Accept: 'text/event-stream'};
        if (state.lastEventId) headers['Last-Event-ID'] = state.lastEventId;
        const res = await fetch('/citizen/v1/events', {headers, signal: ctrl.signal, cache: 'no-store'});
        if (res.status === 401) {
          if (gen === state.evGen) expire();
          return;
        }
        if (res.ok && res.body) {
          setLive(true);
          const reader = res.body.getReader();
          const dec = new TextDecoder();
          let buf = '';
          for (;;) {
            const {value, done} = await reader.read();
            if (done) break;
            buf += dec.decode(value, {stream: true}).replace(/\r\n?/g, '\n');
            let i;
            while ((i = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, i);
              buf = buf.slice(i + 2);
              const ev = {id: '', name: 'message', data: ''};
              for (const line of block.split('\n')) {
                if (!line || line[0] === ':') continue;
                const c = line.indexOf(':');
                const field = c < 0 ? line : line.slice(0, c);
                const val = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
                if (field === 'id') ev.id = val;
                else if (field === 'event') ev.name = val;
                else if (field === 'data') ev.data += (ev.data ? '\n' : '') + val;
                else if (field === 'retry' && /^\d+$/.test(val)) retry = Number(val);
              }
              if (ev.id) state.lastEventId = ev.id;
              if (ev.data || ev.name === 'reset') onEvent(ev);
            }
          }
        }
      } catch (e) {
        if (ctrl.signal.aborted) return;
      }
      setLive(false);
      await new Promise((r) => setTimeout(r, retry));
    }
  })();
}

function onEvent(ev) {
  let data = {};
  try { data = JSON.parse(ev.data || '{}'); } catch (e) { data = {}; }
  const refreshOn = (...screens) => { if (screens.includes(state.screen)) route(); };
  switch (ev.name) {
    case 'AuthorizationRequested':
      toast(t('ev.requested'), 'requested');
      refreshPendingCount();
      refreshOn('pending');
      break;
    case 'AccessRecorded':
      toast(t('ev.used'), 'used');
      refreshOn('history', 'active');
      break;
    case 'AuthorizationWithdrawn':
      toast(t('ev.withdrawn'), 'withdrawn');
      refreshPendingCount();
      refreshOn('pending', 'active');
      break;
    case 'reset':
      refreshPendingCount();
      refreshOn('pending', 'active', 'history');
      break;
    default:
      if (ev.name.startsWith('Authorization')) {
        if (data.status) toast(t('ev.changed', {status: t('st.' + data.status)}), 'changed');
        refreshPendingCount();
        refreshOn('pending', 'active');
      }
  }
}

async function refreshPendingCount() {
  try {
    const list = await api('GET', '/citizen/v1/authorizations?status=PENDING&limit=100');
    const el = $('#pending-count');
    const n = list.items.length;
    el.textContent = n ? String(n) : '';
    el.hidden = !n;
  } catch (e) { /* shown on the screen itself */ }
}

// ---------------------------------------------------------------- screens
const view = () => $('#view');

function setView(screen, ...nodes) {
  const v = view();
  v.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  v.dataset.screen = screen;
  for (const a of document.querySelectorAll('#tabs a')) {
    if (a.dataset.tab === screen) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function screenLogin() {
  const idIn = h('input', {id: 'id_number', name: 'id_number', autocomplete: 'off', required: true, inputmode: 'text', maxlength: '18'});
  const nameIn = h('input', {id: 'name', name: 'name', autocomplete: 'name', required: true});
  const phoneIn = h('input', {id: 'phone', name: 'phone', type: 'tel', autocomplete: 'tel', required: true, inputmode: 'tel'});
  const form = h('form', {id: 'login-form', class: 'card', novalidate: true},
    h('h2', {}, t('login.title')),
    h('p', {class: 'hint'}, t('login.intro')),
    h('label', {for: 'id_number'}, t('login.id')), idIn,
    h('label', {for: 'name'}, t('login.name')), nameIn,
    h('label', {for: 'phone'}, t('login.phone')), phoneIn,
    h('div', {class: 'actions'}, h('button', {type: 'submit', id: 'login-submit'}, t('login.send'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError('');
    const btn = $('#login-submit');
    btn.disabled = true;
    try {
      const res = await api('POST', '/citizen/v1/login',
        {id_number: idIn.value.trim(), name: nameIn.value.trim(), phone: phoneIn.value.trim()});
      screenCode(res.challenge_id);
    } catch (err) {
      showError(errorText(err));
      btn.disabled = false;
    }
  });
  setView('login', form);
  idIn.focus();
}

function screenCode(challenge) {
  const codeIn = h('input', {id: 'code', name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', required: true,
    'aria-describedby': 'code-hint'});
  const status = h('p', {id: 'login-status', class: 'hint', role: 'status'});
  const form = h('form', {id: 'code-form', class: 'card', 'data-challenge': challenge, novalidate: true},
    h('h2', {}, t('login.title')),
    h('label', {for: 'code'}, t('login.code')), codeIn,
    h('p', {id: 'code-hint', class: 'hint'}, t('login.codeHint')),
    status,
    h('div', {class: 'actions'},
      h('button', {type: 'submit', id: 'code-submit'}, t('login.verify')),
      h('button', {type: 'button', class: 'secondary', onclick: () => screenLogin()}, t('login.back'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError('');
    const btn = $('#code-submit');
    btn.disabled = true;
    try {
      const tok = await api('POST', '/citizen/v1/login/verify', {challenge_id: challenge, code: codeIn.value.trim()});
      status.textContent = t('login.keying');
      await startSession(tok.access_token, true);
      location.hash = '#/data';
      route();
    } catch (err) {
      showError(errorText(err));
      btn.disabled = false;
    }
  });
  setView('login', form);
  codeIn.focus();
}

async function screenData() {
  const safe = await api('GET', '/citizen/v1/safe');
  learnCategories(safe.categories);
  const cards = safe.categories.map((c) => h('section', {class: 'card', 'data-category': c.category},
    h('h3', {}, h('span', {}, (state.lang === 'zh' ? c.name_zh : c.name_en) || c.category),
      h('span', {class: 'status'}, t('data.records', {n: c.count}))),
    c.sensitive ? h('span', {class: 'tag sensitive'}, t('sensitive')) : null,
    facts([
      [t('data.period'), (c.first_date || '') + ' – ' + (c.last_date || '')],
      c.unbatched ? [t('data.unbatched'), String(c.unbatched)] : null,
    ]),
    (c.batches || []).map((b) => h('div', {class: 'batch', 'data-batch': b.batch_id},
      facts([
        [t('data.batch'), h('code', {}, b.batch_id)],
        [t('data.root'), h('code', {title: b.root}, short(b.root, 16))],
        [t('data.anchorTx'), b.anchored ? h('code', {class: 'tx'}, b.anchor_tx_id) : t('data.notAnchored')],
        b.anchored_at ? [t('data.anchoredAt'), fmtTime(b.anchored_at)] : null,
      ])))));
  setView('data', h('h2', {}, t('data.title')), h('p', {class: 'hint'}, t('data.intro')),
    cards.length ? cards : h('p', {class: 'empty'}, t('data.empty')));
}

function remember(a) {
  state.auths.set(a.id, a);
  learnCategories(a.category_info);
}

// authFacts is the PIPL Art. 23 information of an authorisation: who, why,
// what, for which period, how long, how many times, whether it is kept.
function authFacts(a) {
  const p = a.purpose_info || {};
  const plain = PURPOSE_PLAIN[state.lang][a.purpose];
  return facts([
    [t('f.who'), instName(a.requester_info, a.requester)],
    [t('f.licence'), (a.requester_info && a.requester_info.licence) || '—'],
    [t('f.purpose'), h('span', {}, ((state.lang === 'zh' ? p.name_zh : p.name_en) || a.purpose),
      plain ? h('span', {class: 'hint'}, ' — ' + plain) : null)],
    [t('f.categories'), (a.categories || []).map(catLabel)],
    [t('f.period'), a.data_from + ' – ' + a.data_to],
    [t('f.valid'), fmtTime(a.valid_until)],
    [t('f.uses'), a.status === 'PENDING' ? t('uses.max', {max: a.max_uses}) : t('uses.used', {uses: a.uses, max: a.max_uses})],
    [t('f.store'), p.may_store ? t('store.yes', {days: p.data_life_days}) : t('store.no')],
    [t('f.requested'), fmtTime(a.requested_at)],
  ]);
}

function actionButton(a, action, cls) {
  return h('button', {type: 'button', class: cls || '', 'data-action': action, 'data-auth': a.id,
    onclick: () => { location.hash = '#/decide/' + encodeURIComponent(a.id) + '/' + action; }},
  t('btn.' + action.toLowerCase()));
}

async function screenPending() {
  const list = await api('GET', '/citizen/v1/authorizations?status=PENDING&limit=100');
  list.items.forEach(remember);
  const cards = list.items.map((a) => h('section', {class: 'card', 'data-auth-id': a.id},
    h('h3', {}, h('span', {}, instName(a.requester_info, a.requester)), statusBadge(a.status)),
    authFacts(a),
    h('div', {class: 'actions'}, actionButton(a, 'GRANT'), actionButton(a, 'DENY', 'secondary'))));
  const el = $('#pending-count');
  el.textContent = cards.length ? String(cards.length) : '';
  el.hidden = !cards.length;
  setView('pending', h('h2', {}, t('pending.title')), h('p', {class: 'principles'}, t('principles')),
    cards.length ? cards : h('p', {class: 'empty'}, t('pending.empty')));
}

async function screenActive() {
  const list = await api('GET', '/citizen/v1/authorizations?limit=100');
  list.items.forEach(remember);
  const active = list.items.filter((a) => a.status === 'GRANTED' || a.status === 'PAUSED');
  const ended = list.items.filter((a) => !['PENDING', 'GRANTED', 'PAUSED'].includes(a.status));
  const receiptBtn = (a) => a.last_decision ? h('button', {type: 'button', class: 'secondary', 'data-receipt': a.id,
    onclick: () => { location.hash = '#/receipt/auth/' + encodeURIComponent(a.id); }}, t('btn.receipt')) : null;
  const cards = active.map((a) => h('section', {class: 'card', 'data-auth-id': a.id, 'data-status': a.status},
    h('h3', {}, h('span', {}, instName(a.requester_info, a.requester)), statusBadge(a.status)),
    authFacts(a),
    h('div', {class: 'actions'},
      a.status === 'GRANTED' ? actionButton(a, 'PAUSE', 'secondary') : actionButton(a, 'RESUME', 'secondary'),
      actionButton(a, 'REVOKE', 'danger'), receiptBtn(a))));
  const endedList = ended.map((a) => h('li', {class: 'card', 'data-auth-id': a.id, 'data-status': a.status},
    h('h3', {}, h('span', {}, instName(a.requester_info, a.requester)), statusBadge(a.status)),
    h('p', {class: 'hint'}, (a.category_info || []).map((c) => (state.lang === 'zh' ? c.name_zh : c.name_en) || c.category).join('、'),
      ' · ', fmtTime(a.updated_at)),
    h('div', {class: 'actions'}, receiptBtn(a))));
  setView('active', h('h2', {}, t('active.title')),
    cards.length ? cards : h('p', {class: 'empty'}, t('active.empty')),
    endedList.length ? h('details', {}, h('summary', {}, t('active.ended') + ' (' + endedList.length + ')'),
      h('ul', {class: 'plain'}, endedList)) : null);
}

async function screenHistory() {
  const list = await api('GET', '/citizen/v1/accesses?limit=100');
  const items = list.items.slice().sort((x, y) => (y.accessed_at || '').localeCompare(x.accessed_at || ''));
  items.forEach((a) => state.accesses.set(a.id, a));
  const cards = items.map((a) => h('section', {class: 'card', 'data-access-id': a.id},
    h('h3', {}, h('span', {}, t('history.used', {who: instName(a.requester_info, a.requester)}))),
    facts([
      [t('f.when'), fmtTime(a.accessed_at)],
      [t('f.categories'), (a.categories || []).map(catLabel)],
      [t('f.auth'), h('code', {}, a.authorization_id)],
      [t('f.tx'), h('code', {class: 'tx'}, a.tx_id)],
    ]),
    h('div', {class: 'actions'}, h('button', {type: 'button', class: 'secondary', 'data-receipt': a.id,
      onclick: () => { location.hash = '#/receipt/use/' + encodeURIComponent(a.id); }}, t('btn.receipt')))));
  setView('history', h('h2', {}, t('history.title')), h('p', {class: 'hint'}, t('history.intro')),
    cards.length ? cards : h('p', {class: 'empty'}, t('history.empty')));
}

// screenDecide asks the gateway for the exact bytes to sign, shows what
// they say — decoded from those bytes, not from anything else — and signs
// those same bytes with the device key.
// purposeName is the purpose's registered name next to the code the
// payload carries, when the authorisation seen in the list names the same.
function purposeName(known, code) {
  const info = known && known.purpose === code ? known.purpose_info || {} : {};
  const name = state.lang === 'zh' ? info.name_zh : info.name_en;
  return name ? name + ' (' + code + ')' : code;
}

async function screenDecide(id, action) {
  const res = await api('POST', '/citizen/v1/authorizations/' + encodeURIComponent(id) + '/payload', {action});
  const bytes = b64ToBytes(res.payload);
  const text = new TextDecoder('utf-8', {fatal: true}).decode(bytes);
  const p = JSON.parse(text);
  const digest = await sha256Hex(bytes);
  const known = state.auths.get(id);
  const ok = p.type === 'quanchain.consent.v1' && p.authorization_id === id && p.action === action;
  const idem = uuid(); // one per screen: a retry of the same submission is answered once
  const actionName = t('act.' + action);
  const who = known && known.requester === p.requester ? instName(known.requester_info, p.requester) : p.requester;
  const signBtn = h('button', {type: 'button', id: 'sign-button', class: action === 'GRANT' || action === 'RESUME' ? '' : 'danger',
    disabled: !ok || !state.device}, t('decide.sign', {action: actionName}));
  const status = h('p', {id: 'decide-status', class: 'hint', role: 'status'});
  signBtn.addEventListener('click', async () => {
    showError('');
    signBtn.disabled = true;
    status.textContent = t('decide.signing');
    try {
      const sig = await crypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, state.device.keyPair.privateKey, bytes);
      const out = await api('POST', '/citizen/v1/authorizations/' + encodeURIComponent(id) + '/decision',
        {payload: res.payload, signature: bytesToB64(sig), key_id: state.device.keyId}, {'Idempotency-Key': idem});
      state.auths.set(id, Object.assign({}, known || {}, out));
      refreshPendingCount();
      toast(t('done.decided', {action: actionName, tx: short(out.last_tx_id, 16)}), 'decided');
      location.hash = '#/receipt/auth/' + encodeURIComponent(id);
    } catch (err) {
      status.textContent = '';
      showError(errorText(err));
      if (!(err instanceof APIError) || err.status >= 500 || err.status === 0) signBtn.disabled = false;
    }
  });
  setView('decide',
    h('h2', {}, t('decide.title', {action: actionName})),
    h('p', {class: 'hint'}, t('decide.intro')),
    ok ? null : h('p', {class: 'warn', role: 'alert'}, t('decide.mismatch')),
    state.device ? null : h('p', {class: 'warn', role: 'alert'}, t('decide.nokey')),
    h('section', {class: 'card signed', id: 'decision-payload', 'data-auth-id': p.authorization_id, 'data-action': p.action},
      facts([
        [t('f.action'), actionName, {'data-field': 'action'}],
        [t('f.who'), who, {'data-field': 'requester'}],
        [t('f.purpose'), purposeName(known, p.purpose), {'data-field': 'purpose'}],
        [t('f.categories'), (p.categories || []).map(catLabel), {'data-field': 'categories'}],
        [t('f.period'), p.data_from + ' – ' + p.data_to, {'data-field': 'period'}],
        [t('f.valid'), fmtTime(p.valid_until), {'data-field': 'valid_until'}],
        [t('f.uses'), t('uses.max', {max: p.max_uses}), {'data-field': 'max_uses'}],
        [t('f.auth'), h('code', {}, p.authorization_id), {'data-field': 'authorization_id'}],
        [t('f.seq'), String(p.seq)],
        [t('f.channel'), p.channel],
        [t('f.issued'), fmtTime(p.issued_at)],
        [t('f.key'), state.device ? h('code', {}, state.device.keyId) : '—'],
      ]),
      h('details', {},
        h('summary', {}, t('f.payload') + ' · ' + t('decide.bytes', {n: bytes.length})),
        h('pre', {id: 'payload-text'}, text),
        facts([[t('f.digest'), h('code', {}, digest)]]))),
    status,
    h('div', {class: 'actions'}, signBtn,
      h('button', {type: 'button', class: 'secondary', onclick: () => history.back()}, t('btn.cancel'))));
  signBtn.focus();
}

async function screenReceiptAuth(id) {
  let a = state.auths.get(id);
  if (!a || !a.last_decision) {
    const list = await api('GET', '/citizen/v1/authorizations?limit=100');
    list.items.forEach(remember);
    a = state.auths.get(id);
  }
  if (!a || !a.last_decision) throw new APIError(404, 'AUTH_NOT_FOUND', id);
  const d = a.last_decision;
  const bytes = b64ToBytes(d.payload);
  const text = new TextDecoder().decode(bytes);
  const digest = await sha256Hex(bytes);
  setView('receipt',
    h('h2', {}, t('receipt.decision')),
    h('p', {class: 'hint'}, t('receipt.intro')),
    h('section', {class: 'card', id: 'receipt', 'data-kind': 'decision', 'data-auth-id': a.id, 'data-tx': d.tx_id},
      h('h3', {}, h('span', {}, t('act.' + d.action)), statusBadge(a.status)),
      facts([
        [t('f.who'), instName(a.requester_info, a.requester)],
        [t('f.auth'), h('code', {}, a.id)],
        [t('f.tx'), h('code', {class: 'tx'}, d.tx_id)],
        [t('f.when'), fmtTime(d.at)],
        [t('f.key'), h('code', {}, d.key_id)],
        [t('f.sig'), h('code', {}, d.signature)],
        [t('f.digest'), h('code', {class: 'digest'}, digest)],
        a.request_tx_id ? [t('f.requestTx'), h('code', {}, a.request_tx_id)] : null,
      ]),
      h('h3', {}, t('f.payload')),
      h('pre', {id: 'receipt-payload'}, text),
      h('details', {}, h('summary', {}, t('f.base64')), h('pre', {}, d.payload)),
      h('p', {class: 'hint'}, t('receipt.verify'))),
    h('div', {class: 'actions'}, h('a', {class: 'button secondary', href: '#/active'}, t('btn.back'))));
}

async function screenReceiptUse(id) {
  let a = state.accesses.get(id);
  if (!a) {
    const list = await api('GET', '/citizen/v1/accesses?limit=100');
    list.items.forEach((x) => state.accesses.set(x.id, x));
    a = state.accesses.get(id);
  }
  if (!a) throw new APIError(404, 'NOT_FOUND', id);
  setView('receipt',
    h('h2', {}, t('receipt.use')),
    h('p', {class: 'hint'}, t('receipt.intro')),
    h('section', {class: 'card', id: 'receipt', 'data-kind': 'use', 'data-access-id': a.id, 'data-tx': a.tx_id},
      facts([
        [t('f.who'), instName(a.requester_info, a.requester)],
        [t('f.licence'), (a.requester_info && a.requester_info.licence) || '—'],
        [t('f.provider'), a.provider],
        [t('f.purpose'), a.purpose],
        [t('f.categories'), (a.categories || []).map(catLabel)],
        [t('f.mode'), a.mode + (a.predicate ? ' · ' + a.predicate : '')],
        [t('f.records'), String(a.record_count)],
        [t('f.useNo'), String(a.use_number)],
        [t('f.when'), fmtTime(a.accessed_at)],
        [t('f.auth'), h('code', {}, a.authorization_id)],
        [t('f.tx'), h('code', {class: 'tx'}, a.tx_id)],
        [t('f.digest'), h('code', {class: 'digest'}, a.digest)],
      ])),
    h('div', {class: 'actions'}, h('a', {class: 'button secondary', href: '#/history'}, t('btn.back'))));
}

async function screenDevices() {
  const {keys} = await api('GET', '/citizen/v1/keys');
  const mine = state.device && state.device.keyId;
  const items = keys.slice().sort((x, y) => (y.added_at || '').localeCompare(x.added_at || '')).map((k) => {
    const btn = k.status === 'ACTIVE' ? h('button', {type: 'button', class: 'secondary', 'data-revoke': k.key_id},
      t('btn.revoke')) : null;
    if (btn) {
      btn.addEventListener('click', async () => {
        if (btn.dataset.armed !== 'yes') {
          // First press arms, second press revokes: no modal dialog.
          btn.dataset.armed = 'yes';
          btn.className = 'danger';
          btn.textContent = t('devices.confirm');
          return;
        }
        btn.disabled = true;
        showError('');
        try {
          await api('DELETE', '/citizen/v1/keys/' + encodeURIComponent(k.key_id));
          if (k.key_id === mine) {
            await idbDel('device:' + state.sub);
            state.device = null;
            toast(t('devices.ownRevoked'), 'revoked');
          } else {
            toast(t('devices.revoked'), 'revoked');
          }
          await screenDevices();
        } catch (err) {
          showError(errorText(err));
          btn.disabled = false;
        }
      });
    }
    return h('li', {class: 'card', 'data-key-id': k.key_id, 'data-status': k.status, 'data-mine': k.key_id === mine ? 'yes' : null},
      h('h3', {}, h('span', {}, k.key_id === mine ? t('devices.this') : short(k.key_id, 10)), statusBadge(k.status)),
      facts([
        [t('f.key'), h('code', {}, k.key_id)],
        [t('devices.added'), fmtTime(k.added_at)],
        k.revoked_at ? [t('devices.revokedAt'), fmtTime(k.revoked_at)] : null,
      ]),
      btn ? h('div', {class: 'actions'}, btn) : null);
  });
  // A device without an active key registers a new one only after a new
  // one-time-code login.
  const register = state.device ? null : h('button', {type: 'button', id: 'register-key',
    onclick: () => logout()}, t('devices.register'));
  setView('devices', h('h2', {}, t('devices.title')), h('p', {class: 'hint'}, t('devices.intro')),
    register ? h('div', {class: 'actions'}, register) : null,
    h('ul', {class: 'plain', id: 'device-list'}, items));
}

// ---------------------------------------------------------------- router
let routing = 0;

async function route() {
  const hash = location.hash || '';
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (!state.token) {
    state.screen = 'login';
    if (!$('#login-form') && !$('#code-form')) screenLogin();
    return;
  }
  const name = parts[0] || 'data';
  state.screen = name;
  const mine = ++routing;
  const v = view();
  v.setAttribute('aria-busy', 'true');
  try {
    switch (name) {
      case 'pending': await screenPending(); break;
      case 'active': await screenActive(); break;
      case 'history': await screenHistory(); break;
      case 'devices': await screenDevices(); break;
      case 'decide': await screenDecide(parts[1], parts[2]); break;
      case 'receipt':
        if (parts[1] === 'use') await screenReceiptUse(parts[2]);
        else await screenReceiptAuth(parts[2]);
        break;
      case 'login': location.hash = '#/data'; return;
      default: state.screen = 'data'; await screenData();
    }
  } catch (err) {
    if (mine === routing && state.token) {
      showError(errorText(err));
      setView(name, h('div', {class: 'actions'}, h('button', {type: 'button', onclick: () => route()}, t('btn.retry'))));
    }
  } finally {
    v.removeAttribute('aria-busy');
  }
}

async function init() {
  applyStaticText();
  $('#lang').addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('qc.lang', state.lang);
    applyStaticText();
    if (state.token) route();
    else if (!$('#code-form')) screenLogin();
  });
  $('#logout').addEventListener('click', () => logout());
  window.addEventListener('hashchange', () => { if (state.token) showError(''); route(); });
  if (state.token) {
    const exp = jwtClaims(state.token).exp;
    if (exp && exp * 1000 < Date.now()) {
      state.token = '';
      sessionStorage.removeItem('qc.token');
      showError(t('err.session'));
    } else {
      try {
        await startSession(state.token, false);
      } catch (err) {
        if (state.token) showError(errorText(err));
      }
    }
  }
  route();
}

document.addEventListener('DOMContentLoaded', init);
