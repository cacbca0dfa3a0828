// The platform operator's view: every organisation the platform serves,
// with its totals today and whether the database answers. Never a contact,
// an attribute, an account or an audit entry of one: the API gives none.
import { h, replace } from './dom.js';
import { fmtTime, t } from './i18n.js';
import { label } from './state.js';
import { pollToday, table } from './supervisor.js';

const POLL = 10000;

export function render(main) {
  const body = h('div', { class: 'platform' }, h('p', { class: 'muted', text: t('loading') }));
  replace(main, h('h1', { tabindex: '-1', text: t('platform.title') }), body);
  const draw = (data) => {
    const orgs = data.organisations;
    replace(
      body,
      h(
        'p',
        { class: data.database === 'ok' ? 'hint' : 'error', 'data-health': data.database, text: t('platform.database.' + (data.database === 'ok' ? 'ok' : 'down')) },
      ),
      h('p', { class: 'hint', text: t('platform.note', { since: fmtTime(data.since) }) }),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'platform-orgs' },
        h('h2', { id: 'platform-orgs', text: t('platform.organisations') }),
        table(
          t('platform.organisations'),
          [t('platform.organisation'), t('platform.purposes'), t('platform.accounts'), t('platform.live'), t('sup.matched'), t('sup.unverified')],
          orgs.map((o) => [label(o.names, o.id), String(o.purposes), String(o.accounts), String(o.live), String(o.matched), String(o.unverified)]),
        ),
      ),
    );
  };

  return pollToday('/api/v1/operator/overview', POLL, body, draw);
}
