// The audit log (role admin): who did what, to which contact, when, as the
// NEN 7513 logging norm asks (which attributes were shown, never their
// values). Filters by period, person, action, contact and purpose, and
// exports the same selection as CSV or JSON; the server writes every
// export to the log itself.
import { api } from './api.js';
import { field, h, replace } from './dom.js';
import { fmtDateTime, t } from './i18n.js';
import { app, purposeLabel } from './state.js';
import { iso, table } from './supervisor.js';

const ACTIONS = ['contact.opened', 'contact.ended', 'agent.signin', 'agent.signin.oidc', 'agent.signout', 'account.created', 'account.updated', 'account.password_reset', 'audit.exported'];

export function render(main) {
  let accounts = new Map();
  let limit = 200;

  const from = h('input', { type: 'date' });
  const to = h('input', { type: 'date' });
  const who = h('select', {}, h('option', { value: '', text: t('audit.anyone') }));
  const action = h('select', {}, h('option', { value: '', text: t('audit.anyAction') }), ACTIONS.map((a) => h('option', { value: a, text: t('action.' + a) })));
  const contact = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', pattern: '[A-Za-z0-9._@:\\-]{1,128}' });
  const purpose = h('select', {}, h('option', { value: '', text: t('audit.anyPurpose') }), [...app.purposes.keys()].map((p) => h('option', { value: p, text: purposeLabel(p) })));
  const csv = h('a', { class: 'button', download: '', text: t('audit.exportCSV') });
  const json = h('a', { class: 'button', download: '', text: t('audit.exportJSON') });
  const results = h('div', { 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });

  // query builds the filter; dates are whole days in the admin's time zone.
  const query = () => {
    const q = new URLSearchParams();
    if (from.value) q.set('since', iso(new Date(from.value + 'T00:00:00')));
    if (to.value) {
      const end = new Date(to.value + 'T00:00:00');
      end.setDate(end.getDate() + 1);
      q.set('until', iso(end));
    }
    if (who.value) q.set('agent', who.value);
    if (action.value) q.set('action', action.value);
    if (contact.value.trim()) q.set('contact', contact.value.trim());
    if (purpose.value) q.set('purpose', purpose.value);
    return q;
  };

  const updateExports = () => {
    const q = query();
    q.set('format', 'csv');
    csv.href = '/api/v1/admin/audit/export?' + q;
    q.set('format', 'json');
    json.href = '/api/v1/admin/audit/export?' + q;
  };

  const load = async () => {
    error.hidden = true;
    updateExports();
    const q = query();
    q.set('limit', String(limit));
    try {
      const data = await api('GET', '/api/v1/admin/audit?' + q);
      draw(data.entries, data.more);
    } catch (e) {
      if (e.status === 401) return;
      error.textContent = e.message || t('error.load');
      error.hidden = false;
    }
  };

  const name = (id) => (id ? accounts.get(id) || id : '');

  const draw = (entries, more) => {
    replace(
      results,
      h('p', { class: 'hint', text: t('audit.count', { n: entries.length }) }),
      entries.length === 0
        ? h('p', { class: 'empty', text: t('audit.none') })
        : table(
            t('audit.title'),
            [t('audit.when'), t('audit.who'), t('audit.action'), t('audit.contact'), t('contact.purpose'), t('audit.attributes'), t('audit.address'), t('audit.detail')],
            entries.map((e) => [
              fmtDateTime(e.at),
              name(e.agentId),
              t('action.' + e.action),
              e.contactId ? h('code', { text: e.contactId }) : '',
              e.purpose ? purposeLabel(e.purpose) : '',
              (e.attributes || []).length ? h('ul', { class: 'plain' }, e.attributes.map((a) => h('li', {}, h('code', { text: a })))) : '',
              e.remoteAddr || '',
              [e.subject ? t('audit.about', { user: name(e.subject) }) + ' ' : '', e.detail || ''].join(''),
            ]),
          ),
      more && limit < 1000
        ? h('button', {
            type: 'button',
            text: t('audit.more'),
            onclick: () => {
              limit = 1000;
              load();
            },
          })
        : more
          ? h('p', { class: 'hint', text: t('audit.narrow') })
          : null,
    );
  };

  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e) => {
        e.preventDefault();
        limit = 200;
        load();
      },
      onchange: updateExports,
      oninput: updateExports,
    },
    field(t('audit.from'), from),
    field(t('audit.to'), to),
    field(t('audit.who'), who),
    field(t('audit.action'), action),
    field(t('audit.contact'), contact),
    field(t('audit.purposeFilter'), purpose),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: t('audit.show') }), csv, json),
  );

  replace(main, h('h1', { tabindex: '-1', text: t('audit.title') }), h('p', { class: 'hint', text: t('audit.intro') }), h('section', { class: 'panel' }, form, error), h('section', { class: 'panel' }, results));

  (async () => {
    try {
      const list = (await api('GET', '/api/v1/admin/agents')).agents;
      accounts = new Map(list.map((a) => [a.id, a.username]));
      for (const a of list) who.append(h('option', { value: a.id, text: a.username }));
    } catch {
      /* names stay ids */
    }
    load();
  })();
  return () => {};
}
