// The citizen-present flow: an institution's app (a bank's loan
// application, an insurer's claim) opens the consent app on one request,
// #/present/<authorization id>?r=<ticket>, and the citizen goes back to the
// institution's app when they have decided or cancelled.
//
// The ticket is the operator's: GET /citizen/v1/present/{ticket} checks it
// and answers the request, the institution's name and the return URL its
// gateway vouched for. The app shows the return URL's host plainly, and
// the only way back it offers is that URL with state, authorization_id and
// outcome (GRANTED, DENIED or CANCELLED) added to its query: it never
// redirects by itself, and never anywhere the ticket does not name.
'use strict';

// PRESENT_KEY keeps the presentation over the login (sessionStorage: this
// tab only, gone when it closes).
const PRESENT_KEY = 'qc.present';

// presentFromHash reads #/present/<id>?r=<ticket>; null for another hash.
function presentFromHash(hash) {
  const m = /^#\/present\/([^?/]+)\?r=([^&]+)$/.exec(hash || '');
  if (!m) return null;
  try {
    return {id: decodeURIComponent(m[1]), ticket: decodeURIComponent(m[2])};
  } catch (e) {
    return null;
  }
}

function presentHash(p) {
  return '#/present/' + encodeURIComponent(p.id) + '?r=' + encodeURIComponent(p.ticket);
}

// savedPresent is the presentation this tab is in, if any.
function savedPresent() {
  try {
    const p = JSON.parse(sessionStorage.getItem(PRESENT_KEY) || 'null');
    return p && typeof p.id === 'string' && typeof p.ticket === 'string' ? p : null;
  } catch (e) {
    return null;
  }
}

// keepPresent keeps p, and once resolved, the operator's view of it: a
// citizen who takes longer than the ticket's 10 minutes to decide still
// gets the way back the operator vouched for in this tab.
function keepPresent(p, view) {
  const saved = savedPresent();
  const kept = view || (saved && saved.ticket === p.ticket ? saved.view : undefined);
  sessionStorage.setItem(PRESENT_KEY, JSON.stringify({id: p.id, ticket: p.ticket, view: kept}));
}

function endPresent() { sessionStorage.removeItem(PRESENT_KEY); }

// presentReturnTo is where a login goes on a presentation: back to it.
function presentReturnTo() {
  const p = savedPresent();
  return p ? presentHash(p) : '';
}

// returnURLOK accepts only what a client may register: https, or http on
// the loopback. The operator vouched for the URL; this is the app's own
// second look before it offers a link to it.
function returnURLOK(u) {
  return u.protocol === 'https:' ||
    (u.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname));
}

// returnLink is the way back to the institution's app: the vouched return
// URL with state, authorization_id and outcome; '' if the URL is not one
// the app may send a citizen to.
function returnLink(view, outcome) {
  let u;
  try { u = new URL(view.return_url); } catch (e) { return ''; }
  if (!returnURLOK(u) || u.hash) return '';
  u.searchParams.set('state', view.state);
  u.searchParams.set('authorization_id', view.authorization_id);
  u.searchParams.set('outcome', outcome);
  return u.href;
}

// outcomeOf is what the institution's app is told of a request's status.
function outcomeOf(status) {
  if (status === 'GRANTED') return 'GRANTED';
  if (status === 'DENIED') return 'DENIED';
  return 'CANCELLED';
}

// resolvePresent asks the operator what the ticket vouches for; it needs
// no login. A ticket that expired after this tab resolved it keeps the
// view resolved then.
async function resolvePresent(p) {
  let view;
  try {
    view = await api('GET', '/citizen/v1/present/' + encodeURIComponent(p.ticket));
  } catch (err) {
    const saved = savedPresent();
    if (err instanceof APIError && err.code === 'TICKET_EXPIRED' && saved && saved.ticket === p.ticket && saved.view) return saved.view;
    throw err;
  }
  if (view.authorization_id !== p.id) throw new APIError(404, 'INVALID_TICKET', 'ticket for another request');
  keepPresent(p, view);
  return view;
}

// backButton is the link back to the institution's app with outcome.
function backButton(view, outcome, secondary) {
  const href = returnLink(view, outcome);
  if (!href) return h('p', {class: 'warn', role: 'alert'}, t('present.noreturn'));
  return h('a', {class: secondary ? 'button secondary' : 'button', id: 'present-return', href, rel: 'noreferrer',
    'data-outcome': outcome, onclick: () => endPresent()}, t('present.back', {name: view.requester_name}));
}

// presentBanner is what the login screen shows on a presentation: who
// sent the citizen here and where they will go back to.
async function presentBanner() {
  const p = savedPresent();
  if (!p) return null;
  try {
    const view = await resolvePresent(p);
    return h('section', {class: 'card', id: 'present-banner'},
      h('p', {}, t('present.loginFirst', {name: view.requester_name})),
      h('p', {class: 'hint'}, t('present.returnHost'), ' ', h('strong', {'data-field': 'return_host'}, view.return_host)));
  } catch (e) {
    return null;
  }
}

// screenPresent is the presentation's screen: the request the institution
// sent the citizen to decide, then, once decided, the way back.
async function screenPresent(p) {
  let view;
  try {
    view = await resolvePresent(p);
  } catch (err) {
    endPresent();
    if (err instanceof APIError && (err.code === 'TICKET_EXPIRED' || err.code === 'INVALID_TICKET')) {
      render('present', t('present.title'), h('h2', {}, t('present.title')),
        h('p', {class: 'warn', role: 'alert', id: 'present-invalid'}, t(err.code === 'TICKET_EXPIRED' ? 'present.expired' : 'present.invalid')),
        h('div', {class: 'actions'}, h('a', {class: 'button secondary', href: '#/pending'}, t('nav.pending'))));
      return;
    }
    throw err;
  }
  const list = await api('GET', '/citizen/v1/authorizations?limit=100');
  list.items.forEach(remember);
  const a = state.auths.get(p.id);
  const host = h('p', {class: 'hint', id: 'present-host'}, t('present.returnHost'), ' ',
    h('strong', {'data-field': 'return_host'}, view.return_host));
  if (!a) {
    // Not this citizen's request: nothing to decide here.
    render('present', t('present.title'), h('h2', {}, t('present.title')),
      h('p', {class: 'warn', role: 'alert', id: 'present-notmine'}, t('present.notMine')), host,
      h('div', {class: 'actions'}, backButton(view, 'CANCELLED')));
    return;
  }
  if (a.status !== 'PENDING') {
    const outcome = outcomeOf(a.status);
    render('present', t('present.title'), h('h2', {}, t('present.done.' + outcome, {name: view.requester_name})),
      h('p', {class: 'hint'}, t('present.doneHint')), host,
      h('div', {class: 'actions'}, backButton(view, outcome),
        a.last_decision ? h('a', {class: 'button secondary', href: '#/receipt/auth/' + encodeURIComponent(a.id)}, t('present.receipt')) : null));
    return;
  }
  const purpose = purposeText(a.purpose, a.purpose_info);
  render('present', t('present.title'),
    h('h2', {}, t('present.asks', {name: instName(a.requester_info, a.requester)})),
    h('p', {class: 'hint'}, t('present.intro')),
    h('section', {class: 'card', id: 'present-request', 'data-auth-id': a.id},
      facts([
        [t('f.who'), instName(a.requester_info, a.requester), {'data-field': 'requester'}],
        [t('f.purpose'), purpose.name, {'data-field': 'purpose'}],
        [t('f.categories'), (a.categories || []).map(catLabel), {'data-field': 'categories'}],
      ])),
    host,
    h('div', {class: 'actions'},
      h('a', {class: 'button', id: 'present-grant', href: '#/decide/' + encodeURIComponent(a.id) + '/GRANT'}, t('present.review')),
      h('a', {class: 'button danger', id: 'present-deny', href: '#/decide/' + encodeURIComponent(a.id) + '/DENY'}, t('act.DENY')),
      backButton(view, 'CANCELLED', true)));
}

// afterDecision is where the app goes once the citizen signed a decision
// on id: back to the presentation if they came from one, else the receipt.
function afterDecision(id) {
  const p = savedPresent();
  return p && p.id === id ? presentHash(p) : '#/receipt/auth/' + encodeURIComponent(id);
}
