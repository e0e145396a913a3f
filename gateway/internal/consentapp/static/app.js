// The consent app. Plain JavaScript, no framework, no build step; it talks
// only to the citizen API of its own origin (see docs/app.md). The other
// scripts, loaded before this one: i18n.js (words), core.js (state, DOM,
// API client, errors), screens.js (the screens).
'use strict';

function applyStaticText() {
  const root = document.documentElement;
  root.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  root.classList.toggle('elder', state.elder);
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  const lang = $('#lang');
  lang.textContent = state.lang === 'zh' ? 'English' : '中文';
  lang.lang = state.lang === 'zh' ? 'en' : 'zh-CN';
  const elder = $('#elder');
  elder.textContent = t('elder.on');
  elder.setAttribute('aria-pressed', state.elder ? 'true' : 'false');
  elder.title = t('elder.label');
  setLive($('#live').dataset.state === 'on');
}

// ---------------------------------------------------------------- session
// A citizen session lasts while the citizen uses the app: each token lives
// the gateway's idle timeout (30 minutes by default) and the app renews it
// on activity, at most once a minute. Two minutes before an unrenewed token
// expires a dialog asks 继续使用 / 退出; a session also ends at its maximum
// (12 hours after the login), however active. When a session ends by
// itself, the screen the citizen was on is remembered and shown again after
// the next login, if it is the same citizen.
const WARN_BEFORE = 2 * 60 * 1000;
const RENEW_EVERY = 60 * 1000;

// expire ends a session the gateway no longer accepts (or that ran out).
function expire() {
  if (state.token && state.sub) {
    const hash = location.hash || '';
    if (/^#\/[a-z]/.test(hash) && !/^#\/(login|relogin)\b/.test(hash)) {
      sessionStorage.setItem('qc.returnTo', JSON.stringify({sub: state.sub, hash}));
    }
  }
  logout();
  showError(ERRORS[state.lang].INVALID_TOKEN);
}

function logout() {
  state.token = '';
  state.sub = '';
  state.device = null;
  state.keyRevoked = false;
  state.deviceNotices = [];
  state.evGen++;
  if (state.evAbort) state.evAbort.abort();
  sessionStorage.removeItem('qc.token');
  sessionStorage.removeItem('qc.sessionEnd');
  closeSessionDialog();
  setLive(false);
  $('#tabs').hidden = true;
  $('#logout').hidden = true;
  location.hash = '#/login';
  route();
}

// returnTo is the screen to show after a login: the one a session that
// ran out was on, for the same citizen; else 我的数据.
function returnTo() {
  const presenting = presentReturnTo();
  if (presenting) {
    sessionStorage.removeItem('qc.returnTo');
    return presenting;
  }
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem('qc.returnTo') || 'null'); } catch (e) { saved = null; }
  sessionStorage.removeItem('qc.returnTo');
  return saved && saved.sub === state.sub && typeof saved.hash === 'string' ? saved.hash : '#/data';
}

// setToken keeps a session's token, and when it is known, the session's end.
function setToken(token, sessionEnd) {
  state.token = token;
  sessionStorage.setItem('qc.token', token);
  if (sessionEnd) sessionStorage.setItem('qc.sessionEnd', sessionEnd);
}

// tokenTimes are the current token's issue and expiry and the session's
// end, in milliseconds.
function tokenTimes() {
  const c = jwtClaims(state.token);
  const end = Date.parse(sessionStorage.getItem('qc.sessionEnd') || '');
  // Without the login's answer (a session from before a reload of an older
  // app), the default maximum from the login time.
  const fallback = ((c.auth_time || c.iat || 0) * 1000) + 12 * 3600 * 1000;
  return {iat: (c.iat || 0) * 1000, exp: (c.exp || 0) * 1000, end: Number.isNaN(end) ? fallback : end};
}

// renewSession exchanges the token for a fresh one of the same session. A
// 401 (expired, or past the maximum) ends the session through api().
async function renewSession() {
  if (!state.token || state.renewing) return false;
  state.renewing = true;
  try {
    const s = await api('POST', '/citizen/v1/session/renew');
    setToken(s.access_token, s.session_expires_at);
    return true;
  } catch (e) {
    return false;
  } finally {
    state.renewing = false;
  }
}

// onActivity renews the session when the citizen does something, at most
// once a minute, and never behind the dialog's back.
function onActivity() {
  if (!state.token || $('#session-dialog')) return;
  const {iat, exp, end} = tokenTimes();
  if (Date.now() - iat >= RENEW_EVERY && exp < end) renewSession();
}

// checkSession runs every few seconds: it warns before the token expires
// and ends the session once it has.
function checkSession() {
  if (!state.token) return;
  const {exp, end} = tokenTimes();
  const left = exp - Date.now();
  if (left <= 0) {
    expire();
    return;
  }
  if (left <= WARN_BEFORE && !$('#session-dialog')) showSessionDialog(exp, exp >= end);
}

// showSessionDialog is the warning before a session ends: a modal dialog
// (focus stays in it; Esc is 继续使用) naming the time it ends at.
function showSessionDialog(exp, atMax) {
  const time = new Date(exp).toLocaleTimeString(state.lang === 'zh' ? 'zh-CN' : 'en-GB', {hour: '2-digit', minute: '2-digit'});
  const keep = async () => {
    closeSessionDialog();
    if (!atMax) await renewSession();
  };
  const dlg = h('dialog', {id: 'session-dialog', class: 'dialog', 'aria-labelledby': 'session-title', 'aria-describedby': 'session-body'},
    h('h2', {id: 'session-title'}, t('session.title')),
    h('p', {id: 'session-body'}, t(atMax ? 'session.bodyMax' : 'session.body', {time})),
    h('div', {class: 'actions'},
      h('button', {type: 'button', id: 'session-continue', onclick: keep}, t('session.continue')),
      h('button', {type: 'button', id: 'session-logout', class: 'secondary', onclick: () => logout()}, t('session.logout'))));
  dlg.addEventListener('cancel', (e) => { e.preventDefault(); keep(); });
  document.body.append(dlg);
  dlg.showModal();
  $('#session-continue').focus();
}

function closeSessionDialog() {
  const dlg = $('#session-dialog');
  if (!dlg) return;
  if (dlg.open) dlg.close();
  dlg.remove();
}

// startSession starts a session with token; sessionEnd is the session's
// end as the gateway answered it (session_expires_at), when it did.
async function startSession(token, sessionEnd) {
  setToken(token, sessionEnd);
  state.sub = jwtClaims(token).sub || '';
  state.pairing = null;
  $('#tabs').hidden = false;
  $('#logout').hidden = false;
  await loadDevice();
  startEvents();
  refreshPendingCount();
}

// loadDevice finds this device's key for the logged-in citizen and checks
// that the ledger still holds it as active. A key the ledger no longer
// holds as active marks the device as revoked: the app then asks for a new
// login, which enrols a new passkey with the identity provider's proof. A
// session alone never enrols a key.
async function loadDevice() {
  state.device = null;
  state.keyRevoked = false;
  const rec = await loadThisDevice();
  if (!rec || rec.status !== 'enrolled' || (rec.sub && rec.sub !== state.sub)) return;
  const {keys} = await api('GET', '/citizen/v1/keys');
  if (keys.some((k) => k.key_id === rec.keyId && k.status === 'ACTIVE')) {
    state.device = rec.sub ? rec : await markEnrolled(rec, state.sub);
    return;
  }
  state.keyRevoked = true;
}

// checkDeviceKey asks the ledger whether this device's key is still
// active; a revoked one is forgotten and the device asks for a new login.
async function checkDeviceKey() {
  if (!state.device) return false;
  const {keys} = await api('GET', '/citizen/v1/keys');
  if (keys.some((k) => k.key_id === state.device.keyId && k.status === 'ACTIVE')) return true;
  state.device = null;
  state.keyRevoked = true;
  return false;
}

// relogin forgets this device's revoked key and logs out: the next login
// makes a new passkey and enrols it with the identity provider's proof.
async function relogin() {
  await forgetThisDevice();
  logout();
}

function deviceKeyLost() {
  state.device = null;
  state.keyRevoked = true;
  location.hash = '#/relogin';
}

// ---------------------------------------------------------------- live events
function setLive(on) {
  const el = $('#live');
  if (!el) return;
  el.dataset.state = on ? 'on' : 'off';
  el.setAttribute('aria-label', t(on ? 'live.on' : 'live.off'));
  el.title = t(on ? 'live.on' : 'live.off');
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
    case 'DeviceAdded':
      // Another device of the citizen was registered: say so on every
      // screen until acknowledged. This device's own key is no news.
      if (!data.key_id || (state.device && state.device.keyId === data.key_id)) break;
      if (!state.deviceNotices.some((d) => d.key_id === data.key_id)) state.deviceNotices.push(data);
      toast(t('ev.deviceAdded', {name: data.device_name || t('devices.unnamed'), when: fmtTime(data.at)}), 'device');
      refreshOn('data', 'pending', 'active', 'history', 'devices');
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
    setPendingCount(list.items.length);
  } catch (e) { /* shown on the screen itself */ }
}

// ---------------------------------------------------------------- router
let routing = 0;
let routeFailed = false; // the banner shows why the last screen failed to load

async function route() {
  const hash = location.hash || '';
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const presenting = presentFromHash(hash);
  if (presenting) keepPresent(presenting); // kept over the login
  if (!state.token) {
    state.screen = 'login';
    if (!$('#login-form') && !$('#pair-card')) {
      await screenLogin();
      presentBanner().then((b) => { if (b && $('#login-form') && !$('#present-banner')) $('#login-form').before(b); });
    }
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
      case 'relogin': screenRelogin(); break;
      case 'decide': await screenDecide(parts[1], parts[2], parts[3]); break;
      case 'present':
        if (presenting) await screenPresent(presenting);
        else { state.screen = 'data'; await screenData(); }
        break;
      case 'records': await screenRecords(parts[1]); break;
      case 'receipt':
        if (parts[1] === 'use') await screenReceiptUse(parts[2]);
        else await screenReceiptAuth(parts[2], parts[3]);
        break;
      case 'login': location.hash = '#/data'; return;
      default: state.screen = 'data'; await screenData();
    }
    if (mine === routing && routeFailed) {
      routeFailed = false;
      showError('');
    }
  } catch (err) {
    if (mine === routing && state.token) {
      showError(err);
      routeFailed = true;
      render(name, t('btn.retry'), h('h2', {}, t('nav.' + name) === 'nav.' + name ? t('brand') : t('nav.' + name)),
        h('div', {class: 'actions'}, h('button', {type: 'button', id: 'retry', onclick: () => { showError(''); route(); }}, t('btn.retry'))));
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
    $('#toasts').replaceChildren(); // said in the other language
    applyStaticText();
    rerender();
  });
  $('#elder').addEventListener('click', () => {
    state.elder = !state.elder;
    if (state.elder) localStorage.setItem('qc.elder', '1');
    else localStorage.removeItem('qc.elder');
    applyStaticText();
    rerender();
  });
  $('#logout').addEventListener('click', () => logout());
  for (const ev of ['pointerdown', 'keydown']) document.addEventListener(ev, onActivity, {capture: true, passive: true});
  setInterval(checkSession, 5000);
  window.addEventListener('hashchange', () => { if (state.token) showError(''); route(); });
  // A device brought back to the front checks that its key still stands.
  document.addEventListener('visibilitychange', async () => {
    if (document.visibilityState !== 'visible' || !state.device) return;
    try {
      if (!(await checkDeviceKey())) location.hash = '#/relogin';
    } catch (e) { /* checked again before signing */ }
  });
  // Back from the identity provider: a ticket to exchange for a session,
  // or the reason the login failed.
  const back = loginReturn();
  if (back && back.ticket) {
    try {
      await exchangeTicket(back.ticket, back.route);
      return;
    } catch (err) {
      state.token = '';
      sessionStorage.removeItem('qc.token');
      await route();
      showError(err, 'login');
      return;
    }
  }
  if (back && back.error) {
    state.token = '';
    sessionStorage.removeItem('qc.token');
    if (back.route) sessionStorage.setItem('qc.route', back.route);
    await route();
    showError(new APIError(401, back.error, ''), 'login');
    return;
  }
  if (state.token) {
    const exp = jwtClaims(state.token).exp;
    if (exp && exp * 1000 < Date.now()) {
      // Ended while the app was closed: log in again, then back here.
      state.sub = jwtClaims(state.token).sub || '';
      expire();
      return;
    }
    try {
      await startSession(state.token);
      if (state.keyRevoked) location.hash = '#/relogin';
    } catch (err) {
      if (state.token) showError(err);
    }
  }
  route();
}

// rerender shows the current screen again after a change of language or
// mode, keeping what was typed into the login form.
function rerender() {
  if (state.token) route();
  else if ($('#pair-card') && state.pairing) screenPair(state.pairing);
  else screenLogin(loginValues());
}

document.addEventListener('DOMContentLoaded', init);
