// The live queue and the contact the agent has taken. The list of waiting
// contacts holds no attributes (the server sends none); the attributes of
// the taken contact live only in `current` and in the DOM of the contact
// panel, and both are dropped the moment the contact ends: by the agent,
// by a hang-up reported on the event stream, or by signing out.
import * as alerts from './alerts.js';
import { api } from './api.js';
import { h, replace } from './dom.js';
import { fmtDate, fmtDateTime, fmtDuration, fmtTime, lang, t } from './i18n.js';
import { app, label, purposeLabel, serverNow } from './state.js';

// connectionFacts shows the contact's connection as its channel describes
// it (the phone: "Phone number" and the caller's number, or "withheld"),
// in the console's language.
function connectionFacts(c) {
  const v = c.connection || {};
  const inLang = (m) => (m && (m[lang()] || m.nl)) || '';
  return [
    h('dt', { text: inLang(v.label) || t('contact.connection') }),
    h('dd', { class: 'caller', text: v.address || inLang(v.missing) || t('contact.unknown') }),
  ];
}

let contacts = []; // waiting contacts of the agent's purposes, oldest first
let current = null; // the opened contact, with its attributes
let seen = new Set(); // contact ids already announced
let loaded = false;
let notice = null; // {kind, text} shown above the contact panel
let view = null; // the rendered view's elements, while shown
let refreshTimer = null;
let refreshing = null;
let again = false;

const REFRESH_ON = new Set(['matched', 'queued', 'answered', 'ended', 'stream-open']);

// onEvent handles an event of the agent stream, shown or not.
export function onEvent(ev) {
  if (ev.type === 'ended' && ev.contact) {
    // Gone at once, caller number and all; the refresh confirms.
    contacts = contacts.filter((c) => c.id !== ev.contact);
    if (current && ev.contact === current.id) drop(t('contact.hungup'));
    else renderList();
  }
  if (REFRESH_ON.has(ev.type)) scheduleRefresh();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh(true), 150);
}

// refresh reloads the waiting contacts; background when the console does it
// by itself.
export async function refresh(background) {
  if (refreshing) {
    // What changed may have missed the request in flight: ask once more after it.
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      const data = await api('GET', '/api/v1/agent/contacts', { background });
      const fresh = data.contacts || [];
      const firstLoad = !loaded;
      loaded = true;
      for (const c of fresh) {
        if (seen.has(c.id)) continue;
        seen.add(c.id);
        if (!firstLoad && c.state === 'matched' && c.takenBy !== app.me.agent.id) {
          alerts.newContact(c.id, purposeLabel(c.purpose));
          announce(t('queue.new', { purpose: purposeLabel(c.purpose) }));
        }
      }
      contacts = fresh;
      // The server no longer lists our open contact: it is over.
      if (current && !fresh.some((c) => c.id === current.id)) drop(t('contact.gone'));
      renderList();
    } catch (e) {
      if (e.status !== 401) setListError(t('error.load'));
    } finally {
      refreshing = null;
      if (again) {
        again = false;
        refresh(true);
      }
    }
  })();
  return refreshing;
}

// clear forgets everything: on sign-out and timeout.
export function clear() {
  clearTimeout(refreshTimer);
  again = false;
  contacts = [];
  current = null;
  seen = new Set();
  loaded = false;
  notice = null;
  view = null;
}

// drop forgets the open contact and its attributes, saying why.
function drop(why) {
  current = null;
  notice = { kind: 'info', text: why };
  // Focus was on the panel's buttons, which are gone: keep it in the panel.
  const hadFocus = !!view && view.contactPanel.contains(document.activeElement);
  renderContact(hadFocus);
  renderList();
  announce(why);
}

function announce(text) {
  const live = document.getElementById('live');
  if (!live) return;
  // Changing the text is what screen readers announce.
  live.textContent = '';
  setTimeout(() => (live.textContent = text), 50);
}

export function render(main) {
  const list = h('div', { class: 'list', 'aria-live': 'off' });
  const count = h('span', { class: 'count' });
  const contactPanel = h('section', { class: 'panel contact', 'aria-labelledby': 'contact-h' });
  const prefs = renderPrefs();
  replace(
    main,
    h('h1', { class: 'visually-hidden', tabindex: '-1', text: t('queue.title') }),
    h(
      'div',
      { class: 'queue-layout' },
      h('section', { class: 'panel queue', 'aria-labelledby': 'queue-h' }, h('h2', { id: 'queue-h' }, t('queue.waiting'), ' ', count), list, prefs),
      contactPanel,
    ),
  );
  view = { list, count, contactPanel, tick: setInterval(tick, 1000) };
  renderList();
  renderContact();
  refresh(false);
  return () => {
    clearInterval(view && view.tick);
    view = null;
  };
}

function renderPrefs() {
  const sound = h('input', { type: 'checkbox', checked: alerts.soundOn(), onchange: (e) => alerts.setSound(e.target.checked) });
  const status = h('p', { class: 'hint', role: 'status' });
  const notify = h('input', {
    type: 'checkbox',
    checked: alerts.notifyOn(),
    disabled: !alerts.notifySupported(),
    onchange: async (e) => {
      const want = e.target.checked;
      const on = await alerts.setNotify(want);
      e.target.checked = on;
      status.textContent = want && !on ? t('prefs.denied') : '';
    },
  });
  sound.id = 'pref-sound';
  notify.id = 'pref-notify';
  return h(
    'fieldset',
    { class: 'prefs' },
    h('legend', { text: t('prefs.legend') }),
    h('div', { class: 'check' }, sound, h('label', { htmlFor: 'pref-sound', text: t('prefs.sound') })),
    h('div', { class: 'check' }, notify, h('label', { htmlFor: 'pref-notify', text: t('prefs.notify') })),
    status,
  );
}

function setListError(text) {
  if (view) replace(view.list, h('p', { class: 'error', role: 'alert', text }));
}

function waited(c) {
  return fmtDuration(serverNow() - Date.parse(c.matchedAt));
}

function tick() {
  if (!view) return;
  for (const el of view.list.querySelectorAll('[data-since]')) {
    el.textContent = fmtDuration(serverNow() - Number(el.dataset.since));
  }
}

function renderList() {
  if (!view) return;
  const mine = app.me.agent.id;
  // The count is of the contacts still waiting for an agent; the list also
  // holds the one this agent has taken, to resume it.
  view.count.textContent = loaded ? `(${contacts.filter(waitsForAgent).length})` : '';
  if (!loaded) {
    replace(view.list, h('p', { class: 'muted', text: t('loading') }));
    return;
  }
  if (contacts.length === 0) {
    replace(view.list, h('p', { class: 'empty', text: t('queue.empty') }));
    return;
  }
  replace(
    view.list,
    h(
      'ol',
      { class: 'contacts', 'aria-label': t('queue.waiting') },
      contacts.map((c) => {
        const isMine = c.takenBy === mine;
        const isOpen = current && current.id === c.id;
        return h(
          'li',
          { class: 'card' + (isOpen ? ' open' : ''), 'data-contact': c.id },
          h('p', { class: 'purpose', text: purposeLabel(c.purpose) }),
          h(
            'dl',
            { class: 'facts' },
            h('dt', { text: t('queue.waitingFor') }),
            h('dd', {}, h('span', { class: 'wait', 'data-since': String(Date.parse(c.matchedAt)), text: waited(c) })),
            connectionFacts(c),
            h('dt', { text: t('queue.verification') }),
            h('dd', {}, verifiedBadge(c)),
            h('dt', { text: t('queue.state') }),
            h('dd', { text: isMine ? t('queue.state.mine') : t('queue.state.waiting') }),
          ),
          isOpen
            ? h('p', { class: 'muted', text: t('queue.shown') })
            : h('button', { type: 'button', class: 'primary take', onclick: () => take(c.id) }, isMine ? t('queue.resume') : t('queue.take'), h('span', { class: 'visually-hidden', text: ': ' + purposeLabel(c.purpose) })),
        );
      }),
    ),
  );
}

// waitsForAgent tells whether no agent has taken the contact yet.
function waitsForAgent(c) {
  return c.state === 'matched' && !c.takenBy;
}

function verifiedBadge(c) {
  return h('span', { class: 'badge ok' }, h('span', { 'aria-hidden': 'true', text: '✓ ' }), t('verified', { means: t('means.' + c.means), assurance: t('assurance.' + c.assurance) }));
}

async function take(id) {
  notice = null;
  try {
    const c = await api('POST', `/api/v1/agent/contacts/${encodeURIComponent(id)}/open`);
    current = c;
    renderContact(true);
    renderList();
  } catch (e) {
    if (e.status === 401) return;
    notice = { kind: 'error', text: e.status === 409 ? t('contact.takenElsewhere') : e.status === 403 ? t('contact.notYours') : t('error.generic') };
    renderContact();
    refresh(false);
  }
}

async function end() {
  const id = current && current.id;
  if (!id) return;
  try {
    await api('POST', `/api/v1/agent/contacts/${encodeURIComponent(id)}/end`);
    drop(t('contact.ended'));
  } catch (e) {
    if (e.status === 401) return;
    // Already over (the caller hung up meanwhile): the data is gone too.
    if (e.status === 409 || e.status === 404) drop(t('contact.gone'));
    else {
      notice = { kind: 'error', text: t('error.generic') };
      renderContact();
    }
  }
  refresh(false);
}

function renderContact(focus) {
  if (!view) return;
  const p = view.contactPanel;
  const note = notice ? h('p', { class: 'notice ' + notice.kind, role: notice.kind === 'error' ? 'alert' : null, text: notice.text }) : null;
  if (!current) {
    replace(p, h('h2', { id: 'contact-h', tabindex: '-1', text: t('contact.none') }), note, h('p', { class: 'muted', text: t('contact.hint') }));
    return;
  }
  const c = current;
  const value = (a) => {
    const v = h('span', { class: 'value', text: a.value });
    if (!a.link || !/^https?:\/\//.test(a.link)) return v;
    return h('a', { href: a.link, target: '_blank', rel: 'noopener noreferrer', class: 'value' }, a.value, h('span', { class: 'visually-hidden', text: ' ' + t('link.newWindow') }));
  };
  replace(
    p,
    h('h2', { id: 'contact-h', tabindex: '-1', text: t('contact.title', { purpose: purposeLabel(c.purpose) }) }),
    note,
    h(
      'dl',
      { class: 'facts wide' },
      connectionFacts(c),
      h('dt', { text: t('contact.purpose') }),
      h('dd', { text: purposeLabel(c.purpose) }),
      h('dt', { text: t('contact.means') }),
      h('dd', {}, verifiedBadge(c)),
      h('dt', { text: t('contact.disclosedAt') }),
      h('dd', { text: fmtDateTime(c.disclosedAt) }),
      h('dt', { text: t('contact.calledAt') }),
      h('dd', { text: fmtTime(c.matchedAt) }),
    ),
    h(
      'table',
      { class: 'attributes' },
      h('caption', { text: t('contact.attributes') }),
      h('thead', {}, h('tr', {}, [t('attr.name'), t('attr.value'), t('attr.issuer'), t('attr.issuedAt')].map((x) => h('th', { scope: 'col', text: x })))),
      h(
        'tbody',
        {},
        (c.attributes || []).map((a) =>
          h('tr', { 'data-attribute': a.id }, h('th', { scope: 'row', text: label(a.labels, a.id) }), h('td', {}, value(a)), h('td', { text: label(a.issuerLabels, a.issuer) }), h('td', { text: fmtDate(a.issuedAt) })),
        ),
      ),
    ),
    h('p', { class: 'muted', text: t('contact.destroyNote') }),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'danger', onclick: end, text: t('contact.end') })),
  );
  if (focus) p.querySelector('h2').focus();
}

