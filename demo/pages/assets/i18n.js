// Texts of the demo pages in Dutch and English. The HTML holds the Dutch
// text (so a page reads right before its script runs); elements with
// data-i18n="key" get the text of the chosen language.

const texts = {
  nl: {
    skip: 'Naar de inhoud',
    demo: 'Demo',
    demoOnly: 'Alleen voor de demo',
    langSwitch: 'English',
    bannerSite: 'Deze gemeente bestaat niet. Alles op deze site is nagebootst en de gegevens zijn verzonnen.',
    bannerWallet: 'Deze pagina speelt de Yivi-app na met demogegevens die niemand echt bezit. De echte Yivi-app vertrouwt het demoschema niet.',
    bannerPhone: 'Deze pagina speelt het telefoonnet na: er wordt niet echt gebeld.',
    navHome: 'Home',
    navTaxes: 'Belastingen',
    navContact: 'Contact',
    crumbs: 'Home › Belastingen › Contact',
    siteTitle: 'Vraag over uw belastingaanslag?',
    siteIntro: 'Bel ons. Met Yivi laat u vooraf zien wie u bent. Dan hoeft u aan de telefoon uw BSN en geboortedatum niet te noemen, en weet de medewerker zeker dat u het bent.',
    howTitle: 'Zo werkt het',
    how1: 'Deel uw naam, BSN en geboortedatum met de Yivi-app.',
    how2: 'Uw telefoon belt ons en toetst een code.',
    how3: 'De medewerker ziet dat u het bent. Na het gesprek worden uw gegevens gewist.',
    callButton: 'Bel ons met Yivi',
    openHours: 'Wij zijn bereikbaar op werkdagen van 8.00 tot 17.00 uur.',
    footer: '{name} is een demo van Veilig Contact.',
    otherSite: 'Naar de andere demogemeente: {name}',
    siteTitleTag: 'Contact – {name}',
    guideTitle: 'Demo: doe het hele gesprek na',
    guide1: 'Klik op “Bel ons met Yivi”.',
    guide2: 'Geef de QR-code aan de demowallet, die de Yivi-app speelt.',
    guide2Link: 'Open de QR-code in de demowallet',
    guide3: 'De wallet deelt de gegevens en geeft u de demotelefoon; bel daarmee.',
    guide4: 'Neem op als medewerker.',
    agentConsole: 'Open de medewerkersconsole',
    agentSignIn: 'Log in als “{user}”; het wachtwoord staat in {file} op de server.',
    agentApi: 'Er is nog geen medewerkersconsole; neem op met de medewerkers-API:',
    walletTitle: 'Demowallet',
    walletIntro: 'Deze wallet draait op de Veilig Contact-server: het is de echte Yivi-clientbibliotheek (irmago). Hij krijgt zijn kaartjes via een echte uitgiftesessie en deelt ze met dezelfde cryptografie als de Yivi-app.',
    cardsTitle: 'Kaartjes in deze wallet',
    cardsEmpty: 'Nog geen kaartjes. Haal de demogegevens op, of deel meteen: dan haalt de wallet ze eerst op.',
    cardsGet: 'Demogegevens ophalen',
    cardsIssued: 'Uitgegeven om {time} via een echte uitgiftesessie.',
    scanTitle: 'Sessie scannen',
    scanLabel: 'Inhoud van de QR-code (link of sessie-pointer)',
    scanHint: 'Op de demosite zet de knop “Open de QR-code in de demowallet” hem hier voor u neer.',
    scanSubmit: 'Gegevens delen',
    busyIssue: 'De wallet haalt de demogegevens op…',
    busyDisclose: 'De wallet deelt de gegevens…',
    issued: 'De demogegevens zijn uitgegeven aan de wallet.',
    disclosedTitle: 'Gegevens gedeeld',
    disclosedText: 'De Yivi-app zou nu de telefoon laten bellen:',
    toPhone: 'Bel met de demotelefoon',
    back: '← Terug naar de demosite',
    phoneTitle: 'Demotelefoon',
    phoneIntro: 'Deze telefoon belt niet echt. Hij doet wat het telefoonnet doet: het nummer naar het contactcentrum leiden en de getoetste code via de ondertekende telefonie-API aan Veilig Contact geven.',
    dialLabel: 'Nummer, komma en code',
    dialHint: 'Zoals de Yivi-app belt: +31850000000,1234567890',
    callerLabel: 'Uw telefoonnummer',
    call: 'Bellen',
    hangup: 'Ophangen',
    calling: 'Bellen…',
    connected: 'Verbonden met het contactcentrum. U staat in de wachtrij voor een medewerker.',
    answered: 'Een medewerker heeft uw gesprek aangenomen.',
    ended: 'Het gesprek is beëindigd door het contactcentrum.',
    noMatch: 'Het contactcentrum herkent de code niet: hij is onbekend, al gebruikt of verlopen.',
    notInService: 'Dit nummer is niet in gebruik.',
    hungUp: 'Opgehangen.',
    inCallTitle: 'In gesprek',
    inCallText: 'Oproep {call} voor gesprek {contact}.',
    agentTitle: 'Neem op als medewerker',
  },
  en: {
    skip: 'Skip to content',
    demo: 'Demo',
    demoOnly: 'Demo only',
    langSwitch: 'Nederlands',
    bannerSite: 'This municipality does not exist. Everything on this site is simulated and the data is made up.',
    bannerWallet: 'This page plays the Yivi app with demo data that nobody really holds. The real Yivi app does not trust the demo scheme.',
    bannerPhone: 'This page plays the phone network: no real call is made.',
    navHome: 'Home',
    navTaxes: 'Taxes',
    navContact: 'Contact',
    crumbs: 'Home › Taxes › Contact',
    siteTitle: 'A question about your tax assessment?',
    siteIntro: 'Call us. With Yivi you show who you are beforehand. Then you need not say your citizen service number and date of birth on the phone, and the agent knows for sure that it is you.',
    howTitle: 'How it works',
    how1: 'Share your name, citizen service number and date of birth with the Yivi app.',
    how2: 'Your phone calls us and types a code.',
    how3: 'The agent sees that it is you. After the call your details are erased.',
    callButton: 'Call us with Yivi',
    openHours: 'We can be reached on working days from 8:00 to 17:00.',
    footer: '{name} is a demo of Veilig Contact.',
    otherSite: 'To the other demo municipality: {name}',
    siteTitleTag: 'Contact – {name}',
    guideTitle: 'Demo: do the whole call',
    guide1: 'Click “Call us with Yivi”.',
    guide2: 'Hand the QR code to the demo wallet, which plays the Yivi app.',
    guide2Link: 'Open the QR code in the demo wallet',
    guide3: 'The wallet shares the details and hands you the demo phone; call with it.',
    guide4: 'Answer as an agent.',
    agentConsole: 'Open the agent console',
    agentSignIn: 'Sign in as “{user}”; the password is in {file} on the server.',
    agentApi: 'There is no agent console yet; answer with the agent API:',
    walletTitle: 'Demo wallet',
    walletIntro: 'This wallet runs on the Veilig Contact server: it is the real Yivi client library (irmago). It gets its cards through a real issuance session and shares them with the same cryptography as the Yivi app.',
    cardsTitle: 'Cards in this wallet',
    cardsEmpty: 'No cards yet. Get the demo details, or share right away: the wallet gets them first.',
    cardsGet: 'Get the demo details',
    cardsIssued: 'Issued at {time} through a real issuance session.',
    scanTitle: 'Scan a session',
    scanLabel: 'What the QR code holds (link or session pointer)',
    scanHint: 'On the demo site, the button “Open the QR code in the demo wallet” puts it here for you.',
    scanSubmit: 'Share details',
    busyIssue: 'The wallet is getting the demo details…',
    busyDisclose: 'The wallet is sharing the details…',
    issued: 'The demo details were issued to the wallet.',
    disclosedTitle: 'Details shared',
    disclosedText: 'The Yivi app would now have the phone call:',
    toPhone: 'Call with the demo phone',
    back: '← Back to the demo site',
    phoneTitle: 'Demo phone',
    phoneIntro: 'This phone makes no real call. It does what the phone network does: route the number to the contact centre and give the typed code to Veilig Contact through the signed telephony API.',
    dialLabel: 'Number, comma and code',
    dialHint: 'As the Yivi app dials: +31850000000,1234567890',
    callerLabel: 'Your phone number',
    call: 'Call',
    hangup: 'Hang up',
    calling: 'Calling…',
    connected: 'Connected to the contact centre. You are in the queue for an agent.',
    answered: 'An agent has answered your call.',
    ended: 'The contact centre has ended the call.',
    noMatch: 'The contact centre does not recognise the code: it is unknown, already used or expired.',
    notInService: 'This number is not in service.',
    hungUp: 'Hung up.',
    inCallTitle: 'In a call',
    inCallText: 'Call {call} for contact {contact}.',
    agentTitle: 'Answer as an agent',
  },
};

// lang is the page's language: ?lang=, else what was chosen before, else
// Dutch (the site plays a Dutch municipality).
export const lang = (() => {
  const asked = new URLSearchParams(location.search).get('lang');
  let stored = null;
  try {
    stored = localStorage.getItem('veilig-demo-lang');
  } catch {
    // storage may be off
  }
  const pick = [asked, stored].find((l) => texts[l]);
  const l = pick || 'nl';
  try {
    localStorage.setItem('veilig-demo-lang', l);
  } catch {
    // storage may be off
  }
  return l;
})();

export function t(key, values) {
  let s = texts[lang][key] ?? texts.nl[key] ?? key;
  for (const [k, v] of Object.entries(values || {})) s = s.split(`{${k}}`).join(String(v));
  return s;
}

// apply translates the page and points the language switch at the other
// language.
export function apply() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const a of document.querySelectorAll('[data-lang-switch]')) {
    const other = lang === 'nl' ? 'en' : 'nl';
    const u = new URL(location.href);
    u.searchParams.set('lang', other);
    a.href = u.pathname + u.search + u.hash;
    a.lang = other;
    a.hreflang = other;
    a.textContent = t('langSwitch');
  }
}

// withLang adds the current language to a demo page's path.
export function withLang(path) {
  return `${path}${path.includes('?') ? '&' : '?'}lang=${lang}`;
}

// api calls a demo endpoint and returns [status, body].
export async function api(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  let data = null;
  try {
    data = await r.json();
  } catch {
    // not JSON
  }
  return [r.status, data];
}

export function errorMessage(data, status) {
  return (data && data.error && data.error.message) || `HTTP ${status}`;
}
