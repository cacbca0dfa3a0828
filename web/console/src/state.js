// What the console knows about the signed-in agent and the server. Nothing
// here is ever written to storage: attributes live only in memory, in the
// queue module, and only while the contact lasts.
import { lang } from './i18n.js';

export const app = {
  me: null, // the /me answer: agent, csrfToken, expiresAt, idleExpiresAt, ...
  purposes: new Map(), // id -> labels by language
  offset: 0, // server clock minus ours, in ms
};

// serverNow is the server's time as well as we know it: waiting times and
// the session countdown are counted against the server's clock.
export const serverNow = () => Date.now() + app.offset;

export function purposeLabel(id) {
  const labels = app.purposes.get(id);
  if (!labels) return id;
  return labels[lang()] || labels.nl || labels.en || id;
}

// label picks a label in the console's language from a labels-by-language map.
export function label(labels, fallback) {
  if (!labels) return fallback;
  return labels[lang()] || labels.nl || labels.en || fallback;
}

// hasRole: roles are cumulative (an admin is a supervisor is an agent);
// the platform operator is none of them, and only it is an operator.
export const hasRole = (min) => {
  if (!app.me) return false;
  if (app.me.agent.role === 'operator' || min === 'operator') return app.me.agent.role === min;
  const rank = { agent: 1, supervisor: 2, admin: 3 };
  return (rank[app.me.agent.role] || 0) >= rank[min];
};
