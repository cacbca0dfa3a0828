// The demo wallet page. The wallet itself runs on the server (the real
// irmago client); this page shows what it holds and hands it the session to
// disclose, as a person scanning a QR code with the Yivi app would.
import { apply, t, withLang, api, errorMessage, lang } from './i18n.js';

apply();

const cards = document.getElementById('cards');
const getCards = document.getElementById('get-cards');
const form = document.getElementById('disclose-form');
const session = document.getElementById('session');
const submit = form.querySelector('button[type="submit"]');
const status = document.getElementById('status');
const result = document.getElementById('result');
const resultTitle = document.getElementById('result-title');
const tel = document.getElementById('tel');
const toPhone = document.getElementById('to-phone');

// The demo site hands the session over in the fragment, which never reaches
// a server log.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get('session')) session.value = fragment.get('session');

const labels = {
  nl: { bsn: 'BSN', fullname: 'Naam', familyname: 'Achternaam', dateofbirth: 'Geboortedatum', city: 'Woonplaats', mobilenumber: 'Mobiel nummer' },
  en: { bsn: 'Citizen service number', fullname: 'Name', familyname: 'Family name', dateofbirth: 'Date of birth', city: 'City', mobilenumber: 'Mobile number' },
};

function showCards(v) {
  cards.replaceChildren();
  if (!v.credentials.length) {
    const p = document.createElement('p');
    p.textContent = t('cardsEmpty');
    cards.append(p);
    return;
  }
  for (const c of v.credentials) {
    const card = document.createElement('div');
    card.className = 'card';
    const h = document.createElement('h3');
    h.textContent = c.type;
    const dl = document.createElement('dl');
    for (const [k, val] of Object.entries(c.attributes).sort()) {
      const dt = document.createElement('dt');
      dt.textContent = labels[lang][k] || k;
      const dd = document.createElement('dd');
      dd.textContent = val;
      dl.append(dt, dd);
    }
    card.append(h, dl);
    cards.append(card);
  }
  if (v.issuedAt) {
    const p = document.createElement('p');
    p.className = 'small';
    p.textContent = t('cardsIssued', { time: new Date(v.issuedAt).toLocaleTimeString(lang === 'nl' ? 'nl-NL' : 'en-GB') });
    cards.append(p);
  }
}

function busy(on, text) {
  getCards.disabled = on;
  submit.disabled = on;
  form.setAttribute('aria-busy', on ? 'true' : 'false');
  if (text !== undefined) setStatus(text);
}

function setStatus(text, error) {
  status.textContent = text;
  status.classList.toggle('error', !!error);
}

getCards.addEventListener('click', async () => {
  busy(true, t('busyIssue'));
  try {
    const [st, data] = await api('POST', '/demo/api/wallet/credentials');
    if (st !== 200) return setStatus(errorMessage(data, st), true);
    showCards(data);
    setStatus(t('issued'));
  } catch (e) {
    setStatus(String(e), true);
  } finally {
    busy(false);
  }
});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  result.hidden = true;
  busy(true, t('busyDisclose'));
  try {
    const [st, data] = await api('POST', '/demo/api/wallet/disclose', { session: session.value });
    if (st !== 200) {
      setStatus(errorMessage(data, st), true);
      session.focus();
      return;
    }
    showCards(data);
    setStatus('');
    const ret = data.disclosed.clientReturnUrl;
    tel.textContent = ret;
    toPhone.href = `${withLang('/demo/phone')}#dial=${encodeURIComponent(ret)}`;
    result.hidden = false;
    resultTitle.focus();
  } catch (err) {
    setStatus(String(err), true);
  } finally {
    busy(false);
  }
});

const [st, v] = await api('GET', '/demo/api/wallet');
if (st === 200) {
  if (!v.available) {
    getCards.disabled = true;
    submit.disabled = true;
    setStatus('The demo wallet needs the embedded Yivi server.', true);
  }
  showCards(v);
}
