// The agent console: sign-in, then the live queue, and for supervisors and
// admins their views. Views are chosen by the location hash, so the page
// is one document the server never has to route.
import * as accounts from './accounts.js';
import { api, Events, setCSRF, whenSignedOut } from './api.js';
import * as auditView from './audit.js';
import { h, replace } from './dom.js';
import { langSwitch, t } from './i18n.js';
import * as platform from './platform.js';
import * as queue from './queue.js';
import * as session from './session.js';
import * as signin from './signin.js';
import { app, hasRole, label } from './state.js';
import * as supervisor from './supervisor.js';

const root = document.getElementById('app');

const VIEWS = {
  queue: { title: 'nav.queue', role: 'agent', render: queue.render },
  supervisor: { title: 'nav.supervisor', role: 'supervisor', render: supervisor.render },
  accounts: { title: 'nav.accounts', role: 'admin', render: accounts.render },
  audit: { title: 'nav.audit', role: 'admin', render: auditView.render },
  platform: { title: 'nav.platform', role: 'operator', render: platform.render },
};

let events = null;
let cleanup = () => {};
let shell = null;

whenSignedOut(() => signedOut('signin.expired'));

async function boot() {
  const params = new URLSearchParams(location.search);
  const ssoError = params.get('signin_error');
  if (ssoError) {
    // Said once: do not show it again on reload.
    history.replaceState(null, '', location.pathname + location.hash);
  }
  try {
    const me = await api('GET', '/api/v1/agent/me', { quiet401: true });
    await signedIn(me);
  } catch (e) {
    const known = { failed: 'signin.error.failed', unavailable: 'signin.error.unavailable', no_account: 'signin.error.noAccount' };
    showSignIn(ssoError ? known[ssoError] || 'signin.error.failed' : e.status === 401 || !e.status ? '' : 'error.load');
  }
}

function showSignIn(reason) {
  document.title = t('signin.title') + ' – Veilig Contact';
  signin.render(root, reason, signedIn);
}

async function signedIn(me) {
  session.learn(me);
  setCSRF(me.csrfToken);
  if (me.agent.role === 'operator') {
    // An operator sees organisations, not contacts: no purposes, no stream.
    app.purposes = new Map();
    buildShell();
    session.start(showTimer, () => signedOut('signin.expired'));
    route();
    const heading = shell && shell.main.querySelector('h1');
    if (heading) heading.focus();
    return;
  }
  try {
    const { purposes } = await api('GET', '/api/v1/agent/purposes');
    app.purposes = new Map(purposes.map((p) => [p.id, p.labels]));
  } catch {
    app.purposes = new Map();
  }
  buildShell();
  events = new Events(
    (ev) => queue.onEvent(ev),
    async () => {
      // The stream was refused: a 401 from /me signs out; otherwise try again.
      try {
        await api('GET', '/api/v1/agent/me', { background: true });
        events && events.reopen(3000);
      } catch (e) {
        if (e.status !== 401) events && events.reopen(5000);
      }
    },
  );
  events.open();
  session.start(showTimer, () => signedOut('signin.expired'));
  route();
  // Signed in: keyboard and screen-reader users start at the content.
  const heading = shell && shell.main.querySelector('h1');
  if (heading) heading.focus();
}

// signedOut forgets everything the console showed and shows the sign-in.
function signedOut(reason) {
  if (!app.me) return;
  session.stop();
  if (events) events.close();
  events = null;
  cleanup();
  cleanup = () => {};
  queue.clear();
  app.me = null;
  app.purposes = new Map();
  setCSRF('');
  shell = null;
  document.querySelectorAll('dialog').forEach((d) => d.remove());
  showSignIn(reason);
}

async function signOut() {
  try {
    await api('POST', '/api/v1/agent/logout');
  } catch {
    /* signed out here in any case */
  }
  signedOut('signin.signedOut');
}

function buildShell() {
  const nav = h('nav', { 'aria-label': t('nav.label') }, h('ul', {}));
  const timer = h('span', { class: 'timer', 'aria-live': 'off' });
  const banner = h('div', { class: 'banner', hidden: true });
  const main = h('main', { id: 'main', tabindex: '-1' });
  const who = app.me.agent.displayName || app.me.agent.username;
  replace(
    root,
    h('a', { class: 'skip', href: '#main', onclick: (e) => (e.preventDefault(), main.focus()), text: t('skip') }),
    h(
      'header',
      { class: 'top' },
      h('p', { class: 'brand' }, 'Veilig Contact'),
      nav,
      h(
        'div',
        { class: 'who' },
        timer,
        h(
          'span',
          { class: 'user' },
          who,
          ' · ',
          t('role.' + app.me.agent.role),
          // On a shared platform: whose console this is.
          app.me.organisationNames ? ' · ' + label(app.me.organisationNames, '') : '',
        ),
        langSwitch(() => {
          buildShell();
          route();
        }),
        h('button', { type: 'button', class: 'link', onclick: signOut, text: t('signout') }),
      ),
    ),
    banner,
    main,
    h('div', { id: 'live', class: 'visually-hidden', role: 'status', 'aria-live': 'polite' }),
  );
  shell = { nav, timer, banner, main };
  for (const [key, v] of Object.entries(VIEWS)) {
    if (!hasRole(v.role)) continue;
    nav.firstChild.append(h('li', {}, h('a', { href: '#' + key, 'data-view': key, text: t(v.title) })));
  }
}

let warned = false;

function showTimer(left, warn) {
  if (!shell) return;
  shell.timer.textContent = session.describe(left);
  shell.timer.classList.toggle('warn', warn);
  if (warn && !warned) {
    warned = true;
    replace(
      shell.banner,
      h('p', { role: 'alert', text: t('session.warning') }),
      h('button', { type: 'button', class: 'primary', onclick: () => session.touch(), text: t('session.stay') }),
    );
    shell.banner.hidden = false;
  } else if (!warn && warned) {
    warned = false;
    shell.banner.hidden = true;
    shell.banner.replaceChildren();
  }
}

function route() {
  if (!app.me || !shell) return;
  let key = location.hash.slice(1);
  if (!VIEWS[key] || !hasRole(VIEWS[key].role)) key = hasRole('agent') ? 'queue' : 'platform';
  cleanup();
  for (const a of shell.nav.querySelectorAll('a')) {
    if (a.dataset.view === key) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = t(VIEWS[key].title) + ' – Veilig Contact';
  cleanup = VIEWS[key].render(shell.main) || (() => {});
  const heading = shell.main.querySelector('h1');
  if (heading && document.activeElement && document.activeElement.dataset && document.activeElement.dataset.view) heading.focus();
}

window.addEventListener('hashchange', route);
boot();
