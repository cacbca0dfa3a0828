// The supervisor view: agents online, contacts waiting and how long, and
// calls matched against unverified today. No caller numbers, no
// attributes. It refreshes every few seconds while it is on screen (in the
// background: watching it does not keep a session alive) and counts
// waiting times every second.
import { api } from './api.js';
import { h, replace } from './dom.js';
import { fmtDuration, fmtTime, t } from './i18n.js';
import { purposeLabel, serverNow } from './state.js';

const POLL = 5000;

export function render(main) {
  const body = h('div', { class: 'supervisor' }, h('p', { class: 'muted', text: t('loading') }));
  replace(main, h('h1', { tabindex: '-1', text: t('sup.title') }), body);
  let data = null;

  const names = () => new Map((data.agents || []).map((a) => [a.id, a.displayName || a.username]));

  const draw = () => {
    const waiting = data.waiting.filter((w) => w.state === 'matched');
    const longest = waiting.reduce((m, w) => Math.min(m, Date.parse(w.matchedAt)), Infinity);
    const matched = Object.values(data.matched || {}).reduce((a, b) => a + b, 0);
    const who = names();
    replace(
      body,
      h(
        'ul',
        { class: 'tiles', 'aria-label': t('sup.summary') },
        tile(t('sup.online'), String(data.agents.length), 'online'),
        tile(t('sup.waiting'), String(waiting.length), 'waiting'),
        tile(t('sup.longest'), waiting.length ? fmtDuration(serverNow() - longest) : '–', 'longest', waiting.length ? longest : null),
        tile(t('sup.matched'), String(matched), 'matched'),
        tile(t('sup.unverified'), String(data.unverified), 'unverified'),
      ),
      h('p', { class: 'hint', text: t('sup.todayNote', { since: fmtTime(data.since) }) }),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'sup-q' },
        h('h2', { id: 'sup-q', text: t('sup.contacts') }),
        data.waiting.length === 0
          ? h('p', { class: 'empty', text: t('queue.empty') })
          : table(
              t('sup.contacts'),
              [t('contact.purpose'), t('queue.state'), t('queue.waitingFor'), t('sup.takenBy')],
              data.waiting.map((w) => [
                purposeLabel(w.purpose),
                w.state === 'matched' ? t('queue.state.waiting') : t('sup.state.answered'),
                h('span', { 'data-since': String(Date.parse(w.matchedAt)), text: fmtDuration(serverNow() - Date.parse(w.matchedAt)) }),
                w.takenBy ? who.get(w.takenBy) || t('sup.someone') : '–',
              ]),
            ),
      ),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'sup-a' },
        h('h2', { id: 'sup-a', text: t('sup.agents') }),
        data.agents.length === 0
          ? h('p', { class: 'empty', text: t('sup.noAgents') })
          : table(
              t('sup.agents'),
              [t('acc.name'), t('acc.role'), t('acc.purposes'), t('sup.lastSeen'), t('sup.inHand')],
              data.agents.map((a) => [
                a.displayName || a.username,
                t('role.' + a.role),
                a.purposes.includes('*') ? t('acc.allPurposes') : a.purposes.map(purposeLabel).join(', '),
                fmtTime(a.lastSeenAt),
                String(a.contacts),
              ]),
            ),
      ),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'sup-m' },
        h('h2', { id: 'sup-m', text: t('sup.byPurpose') }),
        Object.keys(data.matched || {}).length === 0
          ? h('p', { class: 'empty', text: t('sup.noCalls') })
          : table(
              t('sup.byPurpose'),
              [t('contact.purpose'), t('sup.matched')],
              Object.entries(data.matched).map(([p, n]) => [purposeLabel(p), String(n)]),
            ),
      ),
    );
  };

  const tick = setInterval(() => {
    for (const el of body.querySelectorAll('[data-since]')) el.textContent = fmtDuration(serverNow() - Number(el.dataset.since));
  }, 1000);

  const stop = pollToday('/api/v1/supervisor/overview', POLL, body, (d) => {
    data = d;
    draw();
  });
  return () => {
    stop();
    clearInterval(tick);
  };
}

// pollToday asks path for today (since the start of the viewer's day, in
// their time zone) now and then every `every` ms in the background, hands
// each answer to draw, and shows an error in body when it fails; the
// returned function stops it.
export function pollToday(path, every, body, draw) {
  let stopped = false;
  let timer = null;
  const load = async (background) => {
    clearTimeout(timer);
    const d = new Date(serverNow());
    d.setHours(0, 0, 0, 0);
    try {
      const data = await api('GET', path + '?since=' + encodeURIComponent(iso(d)), { background });
      if (!stopped) draw(data);
    } catch (e) {
      if (e.status === 401 || stopped) return;
      replace(body, h('p', { class: 'error', role: 'alert', text: e.status === 403 ? t('error.forbidden') : t('error.load') }));
    }
    if (!stopped) timer = setTimeout(() => load(true), every);
  };
  load(false);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function tile(label, value, key, since) {
  const v = h('span', { class: 'tile-value', text: value });
  if (since) v.dataset.since = String(since);
  return h('li', { class: 'tile', 'data-tile': key }, h('span', { class: 'tile-label', text: label }), v);
}

export function table(caption, heads, rows) {
  return h(
    'table',
    {},
    h('caption', { class: 'visually-hidden', text: caption }),
    h('thead', {}, h('tr', {}, heads.map((x) => h('th', { scope: 'col', text: x })))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))),
  );
}

// iso writes a local time with its offset, as the API wants it.
export function iso(d) {
  const pad = (n) => String(Math.abs(n)).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${off >= 0 ? '+' : '-'}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`
  );
}
