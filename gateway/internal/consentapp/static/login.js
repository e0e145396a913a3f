// Logging in. The citizen proves who they are at the government identity
// provider (统一身份认证), over OpenID Connect run by the operator's gateway;
// the app never sees an ID number, a phone number or a code. The first
// login on a device also enrols the device's passkey: the gateway binds the
// ID token to the new key (its nonce names the key id) and the ledger checks
// that binding. A device may instead be let in by a device the citizen
// already has (由已有设备批准): it shows its device code, the other device
// signs an approval, and this one gets a session from the gateway.
'use strict';

// appRoute is the screen to come back to after the identity provider:
// the current route, or the one a session that ran out was on.
function appRoute() {
  const hash = location.hash || '';
  if (/^#\/[a-z]/.test(hash) && !/^#\/(login|relogin)\b/.test(hash)) return hash.slice(1);
  return '';
}

// oidcStart leaves for the identity provider. The route travels in the
// return path's query (the gateway appends #ticket=… to return_to, so it
// cannot be a fragment), and in this tab's sessionStorage as well.
function oidcStart(deviceId) {
  const route = appRoute();
  if (route) sessionStorage.setItem('qc.route', route);
  const back = location.pathname + (route ? '?r=' + encodeURIComponent(route) : '');
  const q = new URLSearchParams({return_to: back});
  if (deviceId) q.set('device_id', deviceId);
  location.assign('/citizen/v1/oidc/start?' + q.toString());
}

// loginReturn reads what the gateway's callback put in the fragment
// (#ticket=… or #login_error=…) and clears it from the address bar at once,
// so a ticket is never kept in the history or a bookmark. It returns
// {ticket} or {error} or null, and the route to go back to.
function loginReturn() {
  const hash = location.hash || '';
  const m = /^#(ticket|login_error)=([^&]*)/.exec(hash);
  if (!m) return null;
  const params = new URLSearchParams(location.search);
  let route = params.get('r') || sessionStorage.getItem('qc.route') || '';
  sessionStorage.removeItem('qc.route');
  if (!/^\/[a-z]/.test(route)) route = '';
  history.replaceState(null, '', location.pathname + (route ? '#' + route : '#/login'));
  const value = decodeURIComponent(m[2]);
  return m[1] === 'ticket' ? {ticket: value, route} : {error: value || 'LOGIN_FAILED', route};
}

// exchangeTicket turns a one-time ticket into a session and, when the
// ticket's login enrolled this device, records the device as enrolled.
async function exchangeTicket(ticket, back) {
  const s = await api('POST', '/citizen/v1/session', {ticket});
  const sub = jwtClaims(s.token).sub || '';
  const rec = await loadThisDevice();
  if (rec && rec.status === 'pending' && s.key_id && s.key_id === rec.keyId) await markEnrolled(rec, sub);
  else if (rec && rec.status === 'enrolled' && !rec.sub) await markEnrolled(rec, sub);
  await startSession(s.token, s.session_expires_at);
  if (back) sessionStorage.setItem('qc.returnTo', JSON.stringify({sub: state.sub, hash: '#' + back}));
  location.hash = returnTo();
  route();
}

// ---------------------------------------------------------------- screens
async function screenLogin(values) {
  const v = values || {};
  const rec = await loadThisDevice();
  const enrolled = rec && rec.status === 'enrolled';
  const status = h('p', {id: 'login-status', class: 'hint', role: 'status', 'aria-live': 'polite'});
  const nameField = enrolled ? null : fieldInput('device_name', t('login.deviceName'), {autocomplete: 'off', maxlength: '64',
    value: v.device_name || state.deviceName || defaultDeviceName()}, t('login.deviceNameHint'));
  const passkeyNote = hasWebAuthn() ? t('login.passkey') : t('login.noPasskey');
  const approve = enrolled ? null : h('button', {type: 'button', id: 'login-approve', class: 'secondary'}, t('login.approve'));
  const form = h('form', {id: 'login-form', class: 'card', novalidate: true, 'data-enrolled': enrolled ? 'yes' : 'no'},
    h('h2', {}, t('login.title')),
    h('p', {}, t('login.intro')),
    h('p', {class: 'hint', id: 'login-passkey'}, enrolled ? t('login.enrolled', {name: rec.name || t('devices.this')}) : passkeyNote),
    nameField,
    status,
    h('div', {class: 'actions'},
      h('button', {type: 'submit', id: 'login-submit'}, t('login.start')),
      approve),
    approve ? h('p', {class: 'hint'}, t('login.approveHint')) : null);
  // newDevice checks the name and creates this device's key.
  const newDevice = async () => {
    if (!checkFields(['device_name'])) return null;
    state.deviceName = $('#device_name').value.trim();
    status.textContent = t(hasWebAuthn() ? 'login.creating' : 'login.keying');
    return createDevice(state.deviceName);
  };
  const busy = (on) => { for (const b of form.querySelectorAll('button')) b.disabled = on; };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError('');
    busy(true);
    try {
      if (enrolled) {
        status.textContent = t('login.leaving');
        oidcStart('');
        return;
      }
      const dev = await newDevice();
      if (!dev) { busy(false); return; }
      status.textContent = t('login.leaving');
      oidcStart(dev.deviceId);
    } catch (err) {
      busy(false);
      status.textContent = '';
      loginFailed(err, 'devices');
    }
  });
  if (approve) {
    approve.addEventListener('click', async () => {
      showError('');
      busy(true);
      try {
        const rec2 = await loadThisDevice();
        const dev = devicePending(rec2) && rec2.name === $('#device_name').value.trim() ? rec2 : await newDevice();
        if (!dev) { busy(false); return; }
        screenPair(dev);
      } catch (err) {
        busy(false);
        status.textContent = '';
        loginFailed(err, 'devices');
      }
    });
  }
  render('login', t('login.title'), form);
}

function loginValues() {
  return $('#device_name') ? {device_name: $('#device_name').value} : {};
}

// loginFailed shows a login error: a passkey failure or a refused key in
// words in the banner, a refused device name at its field.
function loginFailed(err, ctx) {
  if (err instanceof APIError && err.code === 'INVALID_ARGUMENT' && /^name\b/.test(err.message || '') && $('#device_name')) {
    setFieldError('device_name', t('field.device_name'));
    $('#device_name').focus();
    return;
  }
  showError(err, ctx);
  $('#error').focus();
}

// screenPair is the new device waiting for an approval: it shows its
// device code, to be typed on a device the citizen already has, and asks
// the gateway every two seconds until the other device has signed.
let pairGen = 0;

function screenPair(dev) {
  const gen = ++pairGen;
  state.pairing = dev;
  const status = h('p', {id: 'pair-status', class: 'hint', role: 'status', 'aria-live': 'polite'}, t('pair.waiting'));
  const cancel = h('button', {type: 'button', id: 'pair-cancel', class: 'secondary', onclick: () => {
    pairGen++;
    state.pairing = null;
    showError('');
    screenLogin({device_name: dev.name});
  }}, t('btn.cancel'));
  const card = h('section', {id: 'pair-card', class: 'card', 'data-device-id': dev.deviceId},
    h('h2', {}, t('pair.title')),
    h('p', {}, t('pair.intro')),
    h('p', {class: 'device-code-label', id: 'device-code-label'}, t('pair.code')),
    h('p', {class: 'device-code', id: 'device-code', 'aria-labelledby': 'device-code-label'}, h('code', {}, dev.deviceId)),
    h('ol', {class: 'steps'}, h('li', {}, t('pair.step1')), h('li', {}, t('pair.step2')), h('li', {}, t('pair.step3'))),
    status,
    h('div', {class: 'actions'}, cancel));
  render('login', t('pair.title'), card);
  (async () => {
    while (gen === pairGen) {
      await new Promise((r) => setTimeout(r, 2000));
      if (gen !== pairGen) return;
      let st;
      try {
        st = await deviceStatus(dev);
      } catch (err) {
        if (err instanceof APIError && err.status === 0) continue; // offline for a moment
        pairGen++;
        status.textContent = '';
        showError(err, 'devices');
        return;
      }
      if (st.status === 'expired' || Date.parse(dev.expiresAt || '') < Date.now()) {
        pairGen++;
        await forgetThisDevice();
        status.textContent = t('pair.expired');
        cancel.textContent = t('btn.retry');
        return;
      }
      if (st.status === 'enrolled' && st.ticket) {
        pairGen++;
        status.textContent = t('pair.approved');
        try {
          await exchangeTicket(st.ticket, appRoute());
        } catch (err) {
          showError(err, 'login');
        }
        return;
      }
    }
  })();
}
