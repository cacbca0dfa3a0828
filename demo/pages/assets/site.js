// The demo municipality site: the widget does the real work; this script
// translates the page, sets the widget's language and walks a newcomer
// through the demo, handing the session on to the demo wallet.
import { apply, lang, withLang, api } from './i18n.js';
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

const [status, info] = await api('GET', '/demo/api/info');
if (status === 200) {
  renderAgentHelp(document.getElementById('agent-help'), info, null);
}
