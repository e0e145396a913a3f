// The consent app's screens. Each one loads what it shows from the citizen
// API and renders it with render(), which names the page and moves focus
// to the new screen's heading.
'use strict';

const view = () => $('#view');
let lastViewKey = '';

// render replaces the view with nodes. On a new screen (another screen or
// hash, or another form of the login) focus moves to the element marked
// data-focus, else to the heading, so a screen reader starts there; a
// refresh of the same screen leaves focus where it was unless it was
// inside the old content.
function render(screen, title, ...nodes) {
  const v = view();
  const hadFocus = v.contains(document.activeElement) && document.activeElement !== v;
  v.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  v.dataset.screen = screen;
  document.title = title + ' · ' + t('brand');
  for (const a of document.querySelectorAll('#tabs a')) {
    if (a.dataset.tab === screen) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const form = v.querySelector('form');
  const key = screen + '|' + location.hash + '|' + (form ? form.id : '');
  if (key !== lastViewKey) window.scrollTo(0, 0);
  if (key !== lastViewKey || hadFocus) {
    const target = v.querySelector('[data-focus]') || v.querySelector('h2');
    if (target) {
      target.tabIndex = -1;
      target.focus();
    }
  }
  lastViewKey = key;
}

// reloginNotice asks a device whose key was revoked for a new login; and
// it tells of every device added to the citizen's keys since (another
// device than this one: if the citizen did not add it, they revoke it).
function reloginNotice() {
  const added = state.deviceNotices.map((d) => h('div', {class: 'notice', role: 'note', 'data-device-added': d.key_id},
    h('p', {}, t('ev.deviceAdded', {name: d.device_name || t('devices.unnamed'), when: fmtTime(d.at)})),
    h('div', {class: 'actions'},
      h('a', {class: 'button secondary', href: '#/devices'}, t('devices.check')),
      h('button', {type: 'button', class: 'secondary', 'data-dismiss': d.key_id, onclick: () => {
        state.deviceNotices = state.deviceNotices.filter((x) => x.key_id !== d.key_id);
        route();
      }}, t('btn.ok')))));
  if (!state.keyRevoked) return added;
  return [h('div', {class: 'notice', role: 'note'}, h('p', {}, t('devices.ownRevoked')),
    h('button', {type: 'button', class: 'secondary', onclick: () => relogin()}, t('btn.relogin'))), added];
}

// ---------------------------------------------------------------- fields
// A field is checked here as the gateway checks it, so a mistake is shown
// at its field, named by aria-describedby and aria-invalid.
const fieldChecks = {
  device_name: (v) => deviceNameOK(v),
  device_code: (v) => /^[A-Za-z0-9_-]{6,128}$/.test(v.replace(/\s/g, '')),
};

function fieldInput(id, label, attrs, hint) {
  const input = h('input', Object.assign({id, name: id, required: true, 'aria-describedby': hint ? id + '-hint' : null}, attrs));
  input.dataset.hint = hint ? id + '-hint' : '';
  return [
    h('label', {for: id}, label), input,
    hint ? h('p', {id: id + '-hint', class: 'hint'}, hint) : null,
    h('p', {id: id + '-error', class: 'field-error', hidden: true}),
  ];
}

function setFieldError(id, msg) {
  const input = $('#' + id);
  const err = $('#' + id + '-error');
  if (!input || !err) return false;
  err.textContent = msg || '';
  err.hidden = !msg;
  const ids = [input.dataset.hint, msg ? id + '-error' : ''].filter(Boolean).join(' ');
  if (ids) input.setAttribute('aria-describedby', ids);
  else input.removeAttribute('aria-describedby');
  if (msg) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  return true;
}

// checkFields marks every invalid field of ids and focuses the first.
function checkFields(ids) {
  let first = '';
  for (const id of ids) {
    const ok = fieldChecks[id]($('#' + id).value);
    setFieldError(id, ok ? '' : t('field.' + id));
    if (!ok && !first) first = id;
  }
  if (first) $('#' + first).focus();
  return !first;
}

// ---------------------------------------------------------------- my data
async function screenData() {
  const safe = await api('GET', '/citizen/v1/safe');
  learnCategories(safe.categories);
  const cards = safe.categories.map((c) => h('section', {class: 'card', 'data-category': c.category},
    h('h3', {}, h('span', {}, catName(c.category)), h('span', {class: 'status'}, t('data.records', {n: c.count}))),
    c.sensitive ? h('span', {class: 'tag sensitive'}, t('sensitive')) : null,
    facts([
      [t('data.period'), (c.first_date || '') + ' – ' + (c.last_date || '')],
      [t('f.status'), c.unbatched ? t('data.pending') : t('data.anchored')],
    ]),
    (c.batches || []).length ? techDetails(null, (c.batches || []).map((b) => h('div', {class: 'batch', 'data-batch': b.batch_id},
      facts([
        [t('data.batch'), h('code', {}, b.batch_id)],
        [t('data.root'), h('code', {}, b.root)],
        [t('data.anchorTx'), b.anchored ? h('code', {class: 'tx'}, b.anchor_tx_id) : t('data.notAnchored')],
        b.anchored_at ? [t('data.anchoredAt'), fmtTime(b.anchored_at)] : null,
      ])))) : null,
    h('div', {class: 'actions'}, h('a', {class: 'button secondary', href: '#/records/' + encodeURIComponent(c.category),
      'data-records': c.category}, t('data.view')))));
  render('data', t('nav.data'), h('h2', {}, t('data.title')), reloginNotice(), h('p', {class: 'hint'}, t('data.intro')),
    sensitiveNote(safe.categories.map((c) => c.category)),
    cards.length ? cards : h('p', {class: 'empty'}, t('data.empty')));
}

// ---------------------------------------------------------------- authorisations
function remember(a) {
  state.auths.set(a.id, a);
  learnCategories(a.category_info);
  instName(a.requester_info, a.requester);
  keepDecision(a);
}

function storeText(info) {
  return info && info.may_store ? t('store.yes', {life: fmtLife(info.data_life_days)}) : t('store.no');
}

// revokeEffect says what revoking does to the data already delivered.
function revokeEffect(info) {
  return t('revoke.effect', {store: info && info.may_store ? t('revoke.keep', {life: fmtLife(info.data_life_days)}) : t('revoke.nokeep')});
}

// authFacts is the PIPL Art. 23 information of an authorisation: who, why,
// what, for which period, how long, how many times, whether it is kept.
function authFacts(a) {
  const p = purposeText(a.purpose, a.purpose_info);
  return facts([
    [t('f.who'), instName(a.requester_info, a.requester)],
    [t('f.licence'), (a.requester_info && a.requester_info.licence) || '—'],
    [t('f.contact'), contactLink(a.requester_info && a.requester_info.contact), {'data-field': 'contact'}],
    [t('f.purpose'), h('span', {}, p.name, p.plain ? h('span', {class: 'hint'}, ' — ' + p.plain) : null)],
    [t('f.categories'), (a.categories || []).map(catLabel)],
    [t('f.fields'), fieldList(a.categories), {'data-field': 'fields'}],
    [t('f.period'), a.data_from + ' – ' + a.data_to],
    [t('f.valid'), fmtTime(a.valid_until)],
    [t('f.uses'), a.status === 'PENDING' ? t('uses.max', {max: a.max_uses}) : t('uses.used', {uses: a.uses, max: a.max_uses})],
    [t('f.store'), storeText(a.purpose_info)],
    [t('f.requested'), fmtTime(a.requested_at)],
  ]);
}

function actionButton(a, action, cls) {
  return h('button', {type: 'button', class: cls || '', 'data-action': action, 'data-auth': a.id,
    onclick: () => { location.hash = '#/decide/' + encodeURIComponent(a.id) + '/' + action; }},
  t('btn.' + action.toLowerCase()));
}

// notMeButton denies a request the citizen did not make (不是我申请的):
// the denial carries the signed reason NOT_ME, and the operator looks
// into the requester.
function notMeButton(a) {
  return h('button', {type: 'button', class: 'secondary', 'data-action': 'NOT_ME', 'data-auth': a.id,
    onclick: () => { location.hash = '#/decide/' + encodeURIComponent(a.id) + '/DENY/NOT_ME'; }}, t('btn.notme'));
}

function receiptButton(a) {
  return a.last_decision ? h('button', {type: 'button', class: 'secondary', 'data-receipt': a.id,
    onclick: () => { location.hash = '#/receipt/auth/' + encodeURIComponent(a.id); }}, t('btn.receipt')) : null;
}

function setPendingCount(n) {
  const el = $('#pending-count');
  el.textContent = n ? String(n) : '';
  el.hidden = !n;
}

// screenPending lists the requests waiting; 长辈模式 shows one at a time.
async function screenPending() {
  const list = await api('GET', '/citizen/v1/authorizations?status=PENDING&limit=100');
  list.items.forEach(remember);
  setPendingCount(list.items.length);
  const shown = state.elder ? list.items.slice(0, 1) : list.items;
  const cards = shown.map((a) => h('section', {class: 'card', 'data-auth-id': a.id},
    h('h3', {}, h('span', {}, instName(a.requester_info, a.requester)), statusBadge(a.status)),
    authFacts(a),
    sensitiveNote(a.categories),
    h('div', {class: 'actions'}, actionButton(a, 'GRANT'), actionButton(a, 'DENY', 'secondary'), notMeButton(a)),
    h('p', {class: 'hint'}, t('notme.hint'))));
  const more = list.items.length - shown.length;
  render('pending', t('nav.pending'), h('h2', {}, t('pending.title')), reloginNotice(), h('p', {class: 'principles'}, t('principles')),
    cards.length ? cards : h('p', {class: 'empty'}, t('pending.empty')),
    more > 0 ? h('p', {class: 'hint', id: 'pending-more'}, t('pending.more', {n: more})) : null);
}

// screenActive lists the authorisations in force; 长辈模式 offers one
// action on each (revoke), the others stay in the normal mode.
async function screenActive() {
  const list = await api('GET', '/citizen/v1/authorizations?limit=100');
  list.items.forEach(remember);
  const active = list.items.filter((a) => a.status === 'GRANTED' || a.status === 'PAUSED');
  const ended = list.items.filter((a) => !['PENDING', 'GRANTED', 'PAUSED'].includes(a.status));
  const cards = active.map((a) => h('section', {class: 'card', 'data-auth-id': a.id, 'data-status': a.status},
    h('h3', {}, h('span', {}, instName(a.requester_info, a.requester)), statusBadge(a.status)),
    authFacts(a),
    h('p', {class: 'note'}, revokeEffect(a.purpose_info)),
    h('div', {class: 'actions'},
      state.elder ? null : a.status === 'GRANTED' ? actionButton(a, 'PAUSE', 'secondary') : actionButton(a, 'RESUME', 'secondary'),
      actionButton(a, 'REVOKE', 'danger'), state.elder ? null : receiptButton(a))));
  const endedList = ended.map((a) => h('li', {class: 'card', 'data-auth-id': a.id, 'data-status': a.status},
    h('h3', {}, h('span', {}, instName(a.requester_info, a.requester)), statusBadge(a.status)),
    h('p', {class: 'hint'}, (a.categories || []).map(catName).join(state.lang === 'zh' ? '、' : ', '), ' · ', fmtTime(a.updated_at)),
    h('div', {class: 'actions'}, receiptButton(a))));
  render('active', t('nav.active'), h('h2', {}, t('active.title')), reloginNotice(),
    cards.length ? cards : h('p', {class: 'empty'}, t('active.empty')),
    endedList.length ? h('details', {class: 'ended'}, h('summary', {}, t('active.ended') + ' (' + endedList.length + ')'),
      h('ul', {class: 'plain'}, endedList)) : null);
}

// ---------------------------------------------------------------- uses
// givenText says what a use delivered: records, or only a yes/no answer.
function givenText(a) {
  if (a.mode !== 'predicate') return t('mode.records', {n: a.record_count});
  const q = PREDICATES[state.lang][a.predicate];
  return q ? t('mode.predicate', {q}) : t('mode.predicateUnknown');
}

async function screenHistory() {
  const list = await api('GET', '/citizen/v1/accesses?limit=100');
  const items = list.items.slice().sort((x, y) => (y.accessed_at || '').localeCompare(x.accessed_at || ''));
  items.forEach((a) => { state.accesses.set(a.id, a); learnCategories(a.category_info); });
  const cards = items.map((a) => {
    const auth = state.auths.get(a.authorization_id);
    return h('section', {class: 'card', 'data-access-id': a.id},
      h('h3', {}, h('span', {}, t('history.used', {who: instName(a.requester_info, a.requester)}))),
      facts([
        [t('f.when'), fmtTime(a.accessed_at)],
        [t('f.purpose'), purposeText(a.purpose, auth && auth.purpose === a.purpose ? auth.purpose_info : null).name],
        [t('f.categories'), (a.categories || []).map(catLabel)],
        [t('f.given'), givenText(a)],
      ]),
      h('div', {class: 'actions'}, h('button', {type: 'button', class: 'secondary', 'data-receipt': a.id,
        onclick: () => { location.hash = '#/receipt/use/' + encodeURIComponent(a.id); }}, t('btn.receipt'))));
  });
  // Who looked the citizen up (the pseudonym service's record): shown
  // under the uses, the other half of the tracker.
  let lookups = [];
  try {
    lookups = (await api('GET', '/citizen/v1/lookups?limit=50')).items || [];
  } catch (e) {
    lookups = [];
  }
  const lookupItems = lookups.map((l) => h('li', {'data-lookup': l.authorization_id, 'data-requester': l.requester},
    h('strong', {}, t('lookups.item', {who: l.requester_name || l.requester})), h('br'),
    h('span', {class: 'hint'}, t('f.for'), ' ', l.purpose === 'AUDIT' ? t('lookups.audit') : purposeText(l.purpose, null).name,
      ' · ', fmtTime(l.looked_up_at))));
  render('history', t('nav.history'), h('h2', {}, t('history.title')), reloginNotice(), h('p', {class: 'hint'}, t('history.intro')),
    cards.length ? cards : h('p', {class: 'empty'}, t('history.empty')),
    h('section', {class: 'lookups', 'aria-labelledby': 'lookups-title'},
      h('h2', {id: 'lookups-title'}, t('lookups.title')), h('p', {class: 'hint'}, t('lookups.intro')),
      lookupItems.length ? h('ul', {class: 'plain'}, lookupItems) : h('p', {class: 'empty'}, t('lookups.empty'))));
}

// ---------------------------------------------------------------- decide
// screenDecide asks the gateway for the exact bytes to sign, shows what
// they say — decoded from those bytes, not from anything else — and signs
// those same bytes with the device key. Names (institution, purpose) come
// from the list entry only when it names the same code as the bytes.
async function screenDecide(id, action, reason) {
  if (state.keyRevoked || (state.device && !(await checkDeviceKey()))) {
    location.hash = '#/relogin';
    return;
  }
  reason = reason === 'NOT_ME' && action === 'DENY' ? reason : '';
  const res = await api('POST', '/citizen/v1/authorizations/' + encodeURIComponent(id) + '/payload',
    reason ? {action, reason} : {action});
  const bytes = b64ToBytes(res.payload);
  const text = new TextDecoder('utf-8', {fatal: true}).decode(bytes);
  const p = JSON.parse(text);
  const digest = await sha256Hex(bytes);
  const known = state.auths.get(id);
  const ok = p.type === 'quanchain.consent.v2' && p.authorization_id === id && p.action === action && (p.reason || '') === reason;
  const idem = uuid(); // one per screen: a retry of the same submission is answered once
  const actionName = reason ? t('act.NOT_ME') : t('act.' + action);
  const who = known && known.requester === p.requester ? instName(known.requester_info, p.requester) : instName(null, p.requester);
  const purpose = purposeText(p.purpose, known && known.purpose === p.purpose ? known.purpose_info : null);
  const passkey = state.device && state.device.kind === 'webauthn';
  const signBtn = h('button', {type: 'button', id: 'sign-button', class: action === 'GRANT' || action === 'RESUME' ? '' : 'danger',
    disabled: !ok || !state.device, 'aria-describedby': passkey ? 'sign-how' : null},
  t(passkey ? 'decide.signPasskey' : 'decide.sign', {action: actionName}));
  const status = h('p', {id: 'decide-status', class: 'hint', role: 'status'});
  signBtn.addEventListener('click', async () => {
    showError('');
    signBtn.disabled = true;
    status.textContent = t('decide.signing');
    try {
      // A passkey asks for the phone's screen lock or biometric here: that
      // prompt is the citizen's confirmation, so the button is never the
      // focused default.
      status.textContent = t(state.device.kind === 'webauthn' ? 'decide.passkey' : 'decide.signing');
      const sig = await signBytes(state.device, bytes, res.challenge);
      status.textContent = t('decide.signing');
      const out = await api('POST', '/citizen/v1/authorizations/' + encodeURIComponent(id) + '/decision',
        Object.assign({payload: res.payload}, sig), {'Idempotency-Key': idem});
      const merged = Object.assign({}, known || {}, out);
      state.auths.set(id, merged);
      await keepDecision(merged);
      refreshPendingCount();
      toast(t('done.decided', {action: actionName}), 'decided');
      state.justSigned = out.last_decision && out.last_decision.tx_id;
      location.hash = afterDecision(id);
    } catch (err) {
      status.textContent = '';
      if (err instanceof APIError && (err.code === 'KEY_REVOKED' || err.code === 'KEY_NOT_FOUND')) {
        deviceKeyLost();
        return;
      }
      showError(err);
      $('#error').focus();
      if (!(err instanceof APIError) || err.status >= 500 || err.status === 0) signBtn.disabled = false;
    }
  });
  // The retention and the licence are read from the signed bytes.
  const store = {may_store: p.may_store, data_life_days: p.data_life_days};
  const contact = known && known.requester === p.requester && known.requester_info ? known.requester_info.contact : '';
  render('decide', t('decide.title', {action: actionName}),
    h('h2', {}, t('decide.title', {action: actionName})),
    h('p', {class: 'hint'}, t('decide.intro')),
    ok ? null : h('p', {class: 'warn', role: 'alert'}, t('decide.mismatch')),
    state.device ? null : h('p', {class: 'warn', role: 'alert'}, t('decide.nokey')),
    h('section', {class: 'card signed', id: 'decision-payload', 'data-auth-id': p.authorization_id, 'data-action': p.action},
      facts([
        [t('f.action'), actionName, {'data-field': 'action'}],
        reason ? [t('f.reason'), t('reason.' + reason), {'data-field': 'reason'}] : null,
        [t('f.who'), who, {'data-field': 'requester'}],
        [t('f.licence'), p.licence || '—', {'data-field': 'licence'}],
        contact ? [t('f.contact'), contactLink(contact), {'data-field': 'contact'}] : null,
        [t('f.purpose'), h('span', {}, purpose.name, purpose.plain ? h('span', {class: 'hint'}, ' — ' + purpose.plain) : null), {'data-field': 'purpose'}],
        [t('f.categories'), (p.categories || []).map(catLabel), {'data-field': 'categories'}],
        [t('f.fields'), fieldList(p.categories, p.schema_versions), {'data-field': 'fields'}],
        [t('f.period'), p.data_from + ' – ' + p.data_to, {'data-field': 'period'}],
        [t('f.valid'), fmtTime(p.valid_until), {'data-field': 'valid_until'}],
        [t('f.uses'), t('uses.max', {max: p.max_uses}), {'data-field': 'max_uses'}],
        [t('f.store'), storeText(store), {'data-field': 'store'}],
      ]),
      reason ? h('p', {class: 'note', id: 'notme-effect'}, t('notme.effect')) : null,
      sensitiveNote(p.categories),
      action === 'REVOKE' ? h('p', {class: 'note', id: 'revoke-effect'}, revokeEffect(store)) : null,
      techDetails('decide-tech',
        facts([
          [t('f.auth'), h('code', {}, p.authorization_id), {'data-field': 'authorization_id'}],
          [t('f.requesterId'), h('code', {}, p.requester)],
          [t('f.purposeCode'), h('code', {}, p.purpose)],
          [t('f.seq'), String(p.seq)],
          [t('f.channel'), p.channel],
          [t('f.schemas'), (p.categories || []).map((c, i) => c + ' v' + (p.schema_versions || [])[i]).join(', ')],
          [t('f.issued'), fmtTime(p.issued_at)],
          [t('f.key'), state.device ? h('code', {}, state.device.keyId) : '—'],
          [t('f.digest'), h('code', {}, digest)],
        ]),
        h('p', {class: 'tech-label'}, t('f.payload') + ' · ' + t('decide.bytes', {n: bytes.length})),
        h('pre', {id: 'payload-text'}, text))),
    passkey ? h('p', {class: 'hint', id: 'sign-how'}, t('decide.passkeyHint')) : null,
    state.device && !passkey ? h('p', {class: 'note', id: 'sign-unverified'}, t('decide.unverified')) : null,
    status,
    h('div', {class: 'actions'}, signBtn,
      h('button', {type: 'button', class: 'secondary', onclick: () => history.back()}, t('btn.cancel'))));
}

// ---------------------------------------------------------------- receipts
async function screenReceiptAuth(id, tx) {
  let a = state.auths.get(id);
  if (!a || !a.last_decision) {
    const list = await api('GET', '/citizen/v1/authorizations?limit=100');
    list.items.forEach(remember);
    a = state.auths.get(id);
  }
  if (!a) throw new APIError(404, 'AUTH_NOT_FOUND', id);
  const all = await decisionsOf(a);
  const d = tx ? all.find((x) => x.tx_id === tx) : all[0];
  if (!d) throw new APIError(404, 'AUTH_NOT_FOUND', id);
  const bytes = b64ToBytes(d.payload);
  const text = new TextDecoder().decode(bytes);
  let p = {};
  try { p = JSON.parse(text); } catch (e) { p = {}; }
  const digest = await sha256Hex(bytes);
  const fresh = state.justSigned && state.justSigned === d.tx_id;
  state.justSigned = '';
  const purpose = purposeText(p.purpose || a.purpose, a.purpose_info);
  const current = a.last_decision && a.last_decision.tx_id;
  render('receipt', t('receipt.decision'),
    h('h2', {}, t('receipt.decision')),
    h('p', {class: 'hint'}, t('receipt.intro')),
    h('section', {class: 'card', id: 'receipt', 'data-kind': 'decision', 'data-auth-id': a.id, 'data-tx': d.tx_id, 'data-action': d.action},
      h('h3', {id: 'receipt-result', 'data-focus': fresh ? '' : null},
        h('span', {}, t('receipt.done', {action: p.reason ? t('act.' + p.reason) : t('act.' + d.action)})), statusBadge(a.status)),
      facts([
        p.reason ? [t('f.reason'), t('reason.' + p.reason), {'data-field': 'reason'}] : null,
        [t('f.who'), instName(a.requester_info, a.requester)],
        p.licence ? [t('f.licence'), p.licence] : null,
        [t('f.purpose'), purpose.name],
        [t('f.categories'), (p.categories || a.categories || []).map(catLabel)],
        p.schema_versions ? [t('f.fields'), fieldList(p.categories, p.schema_versions)] : null,
        p.data_from ? [t('f.period'), p.data_from + ' – ' + p.data_to] : null,
        p.may_store !== undefined ? [t('f.store'), storeText(p)] : null,
        [t('f.when'), fmtTime(d.at)],
      ]),
      techDetails('receipt-tech',
        facts([
          [t('f.auth'), h('code', {}, a.id)],
          [t('f.tx'), h('code', {class: 'tx'}, d.tx_id)],
          [t('f.key'), h('code', {}, d.key_id)],
          [t('f.sig'), h('code', {}, d.signature)],
          [t('f.digest'), h('code', {class: 'digest'}, digest)],
          p.seq !== undefined ? [t('f.seq'), String(p.seq)] : null,
          p.channel ? [t('f.channel'), p.channel] : null,
          a.request_tx_id ? [t('f.requestTx'), h('code', {}, a.request_tx_id)] : null,
        ]),
        h('p', {class: 'tech-label'}, t('f.payload')),
        h('pre', {id: 'receipt-payload'}, text),
        h('p', {class: 'tech-label'}, t('f.base64')), h('pre', {}, d.payload),
        h('p', {class: 'hint'}, t('receipt.verify')))),
    all.length > 1 ? h('section', {class: 'card', id: 'decision-list'},
      h('h3', {}, t('receipt.all')),
      h('p', {class: 'hint'}, t('receipt.allHint')),
      h('ul', {class: 'plain decisions'}, all.map((x) => h('li', {},
        h('a', {href: '#/receipt/auth/' + encodeURIComponent(a.id) + '/' + encodeURIComponent(x.tx_id), 'data-tx': x.tx_id,
          'data-action': x.action, 'aria-current': x.tx_id === d.tx_id ? 'true' : null},
        t('act.' + x.action), ' · ', fmtTime(x.at), x.tx_id === current ? ' · ' + t('receipt.current') : ''))))) : null,
    h('div', {class: 'actions'}, h('a', {class: 'button secondary', href: '#/active'}, t('btn.back'))));
}

async function screenReceiptUse(id) {
  let a = state.accesses.get(id);
  if (!a) {
    const list = await api('GET', '/citizen/v1/accesses?limit=100');
    list.items.forEach((x) => state.accesses.set(x.id, x));
    a = state.accesses.get(id);
  }
  if (!a) throw new APIError(404, 'ACCESS_NOT_FOUND', id);
  if (!state.auths.has(a.authorization_id)) {
    try {
      (await api('GET', '/citizen/v1/authorizations?limit=100')).items.forEach(remember);
    } catch (e) { /* the names then come from the app's own words */ }
  }
  const auth = state.auths.get(a.authorization_id);
  const purpose = purposeText(a.purpose, auth && auth.purpose === a.purpose ? auth.purpose_info : null);
  const providerName = state.instNames.get(a.provider) || t('provider.safe');
  render('receipt', t('receipt.use'),
    h('h2', {}, t('receipt.use')),
    h('p', {class: 'hint'}, t('receipt.intro')),
    h('section', {class: 'card', id: 'receipt', 'data-kind': 'use', 'data-access-id': a.id, 'data-tx': a.tx_id},
      facts([
        [t('f.who'), instName(a.requester_info, a.requester), {'data-field': 'requester'}],
        [t('f.licence'), (a.requester_info && a.requester_info.licence) || '—'],
        [t('f.purpose'), h('span', {}, purpose.name, purpose.plain ? h('span', {class: 'hint'}, ' — ' + purpose.plain) : null), {'data-field': 'purpose'}],
        [t('f.categories'), (a.categories || []).map(catLabel), {'data-field': 'categories'}],
        [t('f.given'), givenText(a), {'data-field': 'given'}],
        [t('f.provider'), providerName, {'data-field': 'provider'}],
        [t('f.useNo'), auth ? t('uses.nthOf', {n: a.use_number, max: auth.max_uses}) : t('uses.nth', {n: a.use_number})],
        [t('f.when'), fmtTime(a.accessed_at)],
      ]),
      techDetails('receipt-tech', facts([
        [t('f.requesterId'), h('code', {}, a.requester)],
        [t('f.providerId'), h('code', {}, a.provider)],
        [t('f.purposeCode'), h('code', {}, a.purpose)],
        [t('f.mode'), h('code', {}, a.mode + (a.predicate ? ' · ' + a.predicate : ''))],
        [t('f.auth'), h('code', {}, a.authorization_id)],
        [t('f.tx'), h('code', {class: 'tx'}, a.tx_id)],
        [t('f.digest'), h('code', {class: 'digest'}, a.digest)],
      ]))),
    h('div', {class: 'actions'}, h('a', {class: 'button secondary', href: '#/history'}, t('btn.back'))));
}

// ---------------------------------------------------------------- my records
// screenRecords shows the citizen's own records of one category with their
// values, labelled by the category's registered fields; the hash, batch
// and anchor of each are folded under 技术详情.
async function screenRecords(cat, more) {
  if (!state.catNames.has(cat)) learnCategories((await api('GET', '/citizen/v1/safe')).categories);
  const items = [];
  let cursor = '';
  do {
    const page = await api('GET', '/citizen/v1/safe/records?category=' + encodeURIComponent(cat) + '&limit=100' +
      (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    items.push(...page.items);
    cursor = page.next_cursor || '';
  } while (cursor && more && items.length < 1000);
  const fields = (state.catNames.get(cat) || {}).fields || [];
  const cards = items.slice().reverse().map((r) => {
    const v = r.values && typeof r.values === 'object' ? r.values : {};
    const keys = fields.map((f) => f.name).filter((k) => k in v && k !== 'citizen_id')
      .concat(Object.keys(v).filter((k) => !fields.some((f) => f.name === k) && k !== 'category' && k !== 'citizen_id'));
    const label = (k) => {
      const f = fields.find((x) => x.name === k);
      return f ? (state.lang === 'zh' ? f.name_zh : f.name_en) : k;
    };
    const pr = r.proof;
    return h('li', {class: 'card', 'data-record': r.record_hash},
      h('h3', {}, h('span', {}, r.record_date), r.revoked ? statusBadge('REVOKED') : null),
      facts(keys.map((k) => [label(k), fmtValue(k, v[k]), {'data-value': k}])),
      techDetails(null, facts([
        [t('records.hash'), h('code', {}, r.record_hash)],
        pr ? [t('data.batch'), h('code', {}, pr.batch_id)] : [t('f.status'), t('data.notAnchored')],
        pr ? [t('records.leaf'), t('records.leafOf', {i: pr.leaf_index + 1, n: pr.leaf_count})] : null,
        pr ? [t('data.root'), h('code', {}, pr.root)] : null,
        pr ? [t('data.anchorTx'), pr.anchored ? h('code', {class: 'tx'}, pr.anchor_tx_id) : t('data.notAnchored')] : null,
        pr && pr.anchored_at ? [t('data.anchoredAt'), fmtTime(pr.anchored_at)] : null,
        pr && pr.salt ? [t('records.salt'), h('code', {}, pr.salt)] : null,
      ])));
  });
  render('data', t('records.title', {cat: catName(cat)}), h('h2', {}, t('records.title', {cat: catName(cat)})), reloginNotice(),
    h('p', {class: 'hint'}, t('records.intro')),
    cards.length ? h('ul', {class: 'plain', id: 'record-list', 'data-category': cat}, cards) : h('p', {class: 'empty'}, t('records.empty')),
    cursor ? h('div', {class: 'actions'}, h('button', {type: 'button', class: 'secondary', id: 'records-more',
      onclick: () => screenRecords(cat, true)}, t('records.more'))) : null,
    h('div', {class: 'actions'}, h('a', {class: 'button secondary', href: '#/data'}, t('btn.back'))));
}

// ---------------------------------------------------------------- devices
// kindText says how a key signs: a passkey (the phone checks it is the
// citizen), or a key of this browser only, which checks nobody.
function kindText(k) {
  return k.kind === 'webcrypto' ? t('devices.kind.webcrypto') : t('devices.kind.webauthn');
}

// proofText says what let a key onto the ledger: the identity provider's
// login, or the approval of another of the citizen's devices.
function proofText(k, byId) {
  if (k.proof === 'device') {
    const by = byId.get(k.approved_by);
    return t('devices.proof.device', {name: (by && by.name) || (k.approved_by ? short(k.approved_by) : t('devices.other'))});
  }
  if (k.proof === 'id_token') return t('devices.proof.id_token');
  return '—';
}

async function screenDevices() {
  const {keys} = await api('GET', '/citizen/v1/keys');
  const mine = state.device && state.device.keyId;
  const byId = new Map(keys.map((k) => [k.key_id, k]));
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
            await forgetThisDevice();
            state.device = null;
            state.keyRevoked = true;
            toast(t('devices.ownRevoked'), 'revoked');
          } else {
            toast(t('devices.revoked'), 'revoked');
          }
          await screenDevices();
        } catch (err) {
          showError(err);
          btn.disabled = false;
        }
      });
    }
    return h('li', {class: 'card', 'data-key-id': k.key_id, 'data-status': k.status, 'data-mine': k.key_id === mine ? 'yes' : null,
      'data-kind': k.kind || null, 'data-proof': k.proof || null},
    h('h3', {}, h('span', {'data-device-name': k.name || ''}, k.name ? (k.key_id === mine ? t('devices.named', {name: k.name}) : k.name)
      : k.key_id === mine ? t('devices.this') : t('devices.other')), statusBadge(k.status)),
    facts([
      [t('devices.kind'), kindText(k), {'data-field': 'kind'}],
      [t('devices.proof'), proofText(k, byId), {'data-field': 'proof'}],
      [t('devices.added'), fmtTime(k.added_at)],
      k.revoked_at ? [t('devices.revokedAt'), fmtTime(k.revoked_at)] : null,
      [t('f.key'), h('code', {}, k.key_id)],
    ]),
    btn ? h('div', {class: 'actions'}, btn) : null);
  });
  // A device without an active key gets a new one only with a new login
  // at the identity provider.
  const register = state.device ? null : h('button', {type: 'button', id: 'register-key',
    onclick: () => relogin()}, t('devices.register'));
  render('devices', t('devices.title'), h('h2', {}, t('devices.title')), reloginNotice(), h('p', {class: 'hint'}, t('devices.intro')),
    register ? h('div', {class: 'actions'}, register) : null,
    h('ul', {class: 'plain', id: 'device-list'}, items),
    state.device ? addDeviceCard() : null);
}

// addDeviceCard lets this enrolled device approve a new one: the citizen
// types the code the new device shows, sees its name, and signs the
// approval with this device's passkey.
function addDeviceCard() {
  const status = h('p', {id: 'approve-status', class: 'hint', role: 'status', 'aria-live': 'polite'});
  const found = h('div', {id: 'approve-found'});
  const form = h('form', {id: 'approve-form', class: 'card', novalidate: true, 'aria-labelledby': 'approve-title'},
    h('h3', {id: 'approve-title'}, t('approve.title')),
    h('p', {class: 'hint'}, t('approve.intro')),
    fieldInput('device_code', t('approve.code'), {autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false'}, t('approve.codeHint')),
    h('div', {class: 'actions'}, h('button', {type: 'submit', id: 'approve-lookup', class: 'secondary'}, t('approve.lookup'))),
    found, status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError('');
    found.replaceChildren();
    if (!checkFields(['device_code'])) return;
    const code = $('#device_code').value.replace(/\s/g, '');
    const path = '/citizen/v1/devices/' + encodeURIComponent(code) + '/approval';
    status.textContent = t('loading');
    let ap;
    try {
      ap = await api('GET', path);
    } catch (err) {
      status.textContent = '';
      if (err instanceof APIError && err.status === 404) {
        setFieldError('device_code', t('approve.notFound'));
        $('#device_code').focus();
      } else {
        showError(err, 'approve');
      }
      return;
    }
    status.textContent = '';
    const approveBtn = h('button', {type: 'button', id: 'approve-device'}, t('approve.sign', {name: ap.name || t('devices.unnamed')}));
    approveBtn.addEventListener('click', async () => {
      showError('');
      approveBtn.disabled = true;
      try {
        const bytes = b64ToBytes(ap.payload);
        const approval = JSON.parse(new TextDecoder('utf-8', {fatal: true}).decode(bytes));
        // Sign only an approval of the key and name shown.
        if (approval.type !== 'quanchain.enrol.v1' || approval.key_id !== ap.key_id || (approval.name || '') !== (ap.name || '')) {
          throw new Error(t('approve.mismatch'));
        }
        status.textContent = t(state.device.kind === 'webauthn' ? 'decide.passkey' : 'decide.signing');
        const signer = await signBytes(state.device, bytes, ap.challenge);
        status.textContent = t('decide.signing');
        await api('POST', path, {payload: ap.payload, signer}, {'Idempotency-Key': uuid()});
        toast(t('approve.done', {name: ap.name || t('devices.unnamed')}), 'approved');
        await screenDevices();
      } catch (err) {
        status.textContent = '';
        approveBtn.disabled = false;
        showError(err, 'approve');
        $('#error').focus();
      }
    });
    found.replaceChildren(h('section', {class: 'notice', id: 'approve-device-card', 'data-key-id': ap.key_id, 'data-kind': ap.kind || null},
      h('p', {id: 'approve-found-name', tabindex: '-1'}, t('approve.found', {name: ap.name || t('devices.unnamed')})),
      facts([[t('devices.kind'), kindText(ap)], [t('f.key'), h('code', {}, ap.key_id)]]),
      h('p', {class: 'warn'}, t('approve.warn')),
      h('div', {class: 'actions'}, approveBtn)));
    // Focus on the name to check, not on the button: the passkey prompt
    // that follows the button is the confirmation.
    $('#approve-found-name').focus();
  });
  return form;
}

// screenRelogin asks a device whose key was revoked for a new login: a
// session alone never enrols a new key.
function screenRelogin() {
  render('relogin', t('relogin.title'), h('section', {class: 'card', id: 'relogin'},
    h('h2', {}, t('relogin.title')),
    h('p', {}, t('relogin.intro')),
    h('div', {class: 'actions'}, h('button', {type: 'button', id: 'relogin-button', onclick: () => relogin()}, t('btn.relogin')))));
}
