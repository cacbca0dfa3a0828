// How to answer the call as an agent: the agent console when it is served,
// else the agent API steps with the contact filled in.
import { t } from './i18n.js';

export function renderAgentHelp(el, info, contact) {
  el.replaceChildren();
  const p = (text) => {
    const n = document.createElement('p');
    n.textContent = text;
    return n;
  };
  if (info.consoleUrl) {
    const a = document.createElement('a');
    a.href = info.consoleUrl;
    a.target = '_blank';
    a.rel = 'noopener';
    a.className = 'btn secondary';
    a.id = 'to-console';
    a.textContent = t('agentConsole');
    const wrap = document.createElement('p');
    wrap.append(a);
    el.append(wrap, p(t('agentSignIn', { user: info.agentUsername, file: info.agentPasswordFile })));
    return;
  }
  const base = info.publicUrl.replace(/\/+$/, '');
  const id = contact || '<contact>';
  const pre = document.createElement('pre');
  pre.tabIndex = 0;
  pre.textContent = [
    `curl -s -c jar -X POST ${base}/api/v1/agent/login -H 'Content-Type: application/json' \\`,
    `  -d "{\\"username\\":\\"${info.agentUsername}\\",\\"password\\":\\"$(cat ${info.agentPasswordFile})\\"}" | tee me.json`,
    `csrf=$(jq -r .csrfToken me.json)`,
    `curl -s -b jar ${base}/api/v1/agent/contacts`,
    `curl -s -b jar -X POST -H "X-CSRF-Token: $csrf" ${base}/api/v1/agent/contacts/${id}/open`,
    `curl -s -b jar -X POST -H "X-CSRF-Token: $csrf" ${base}/api/v1/agent/contacts/${id}/end`,
  ].join('\n');
  el.append(p(t('agentApi')), pre);
}
