// The demo municipality site: the widget does the real work; this script
// translates the page, sets the widget's language and walks a newcomer
// through the demo, handing the session on to the demo wallet.
import { apply, lang, withLang, api, t } from './i18n.js';
import { renderAgentHelp } from './agent.js';

apply();

const button = document.querySelector('[data-veilig-contact]');
button.dataset.lang = lang;

const toWallet = document.getElementById('to-wallet');
const steps = {
  start: document.querySelector('[data-step="start"]'),
  wallet: document.querySelector('[data-step="wallet"]'),
  phone: document.querySelector('[data-step="phone"]'),
  agent: document.querySelector('[data-step="agent"]'),
};

function current(step) {
  for (const [name, li] of Object.entries(steps)) {
    if (name === step) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }
}
current('start');

// The widget tells the page about its session; the QR code holds the same
// pointer, which the demo wallet takes as if it scanned it.
document.addEventListener('veiligcontact:session', (e) => {
  const ptr = JSON.stringify(e.detail.sessionPtr);
  toWallet.href = `${withLang('/demo/wallet')}#session=${encodeURIComponent(ptr)}`;
  toWallet.hidden = false;
  current('wallet');
});

document.addEventListener('veiligcontact:state', (e) => {
  switch (e.detail.state) {
    case 'disclosed':
      toWallet.hidden = true;
      current('phone');
      break;
    case 'matched':
    case 'answered':
      current('agent');
      break;
    case 'ended':
    case 'cancelled':
    case 'expired':
    case 'failed':
      toWallet.hidden = true;
      current('start');
      break;
  }
});

// The demo serves two municipalities, each an organisation of its own with
// its purpose, line and agent: ?gemeente= picks one; the other's agent sees
// nothing of this one's contacts.
const [status, info] = await api('GET', '/demo/api/info');
if (status === 200) {
  const all = info.municipalities || [];
  const asked = new URLSearchParams(location.search).get('gemeente');
  const site = all.find((m) => m.id === asked) || all[0];
  if (site) {
    const name = site.names[lang] || site.names.nl;
    button.dataset.purpose = site.purpose;
    document.getElementById('site-name').textContent = name;
    document.getElementById('site-footer').textContent = t('footer', { name });
    document.title = t('siteTitleTag', { name });
    if (site !== all[0]) {
      document.getElementById('site-home').href = withLang(`/demo?gemeente=${encodeURIComponent(site.id)}`);
      document.getElementById('site-logo').src = `/demo/assets/${site.id}.svg`;
    }
    const other = all.find((m) => m !== site);
    const link = document.getElementById('other-site');
    if (other) {
      link.href = withLang(other === all[0] ? '/demo' : `/demo?gemeente=${encodeURIComponent(other.id)}`);
      link.textContent = t('otherSite', { name: other.names[lang] || other.names.nl });
      link.hidden = false;
    }
    renderAgentHelp(document.getElementById('agent-help'), { ...info, ...site }, null);
  }
}
