// Dutch and English. The language is the agent's choice (kept in this
// browser), else the browser's. Attribute and purpose labels come from the
// server in both languages; everything else is here.
import { h } from './dom.js';

const nl = {
  skip: 'Naar de inhoud',
  loading: 'Laden…',
  save: 'Opslaan',
  cancel: 'Annuleren',
  signout: 'Afmelden',
  'nav.label': 'Hoofdmenu',
  'nav.queue': 'Wachtrij',
  'nav.supervisor': 'Overzicht',
  'nav.accounts': 'Accounts',
  'nav.audit': 'Auditlog',
  'lang.switch': 'English',
  'lang.switchLabel': 'Switch to English',
  'role.agent': 'medewerker',
  'role.supervisor': 'teamleider',
  'role.admin': 'beheerder',
  'role.operator': 'platformbeheerder',
  'means.yivi': 'Yivi',
  'assurance.low': 'laag',
  'assurance.substantial': 'substantieel',
  'assurance.high': 'hoog',
  verified: 'Geverifieerd met {means}, niveau {assurance}',
  'link.newWindow': '(opent in een nieuw venster)',

  'signin.title': 'Aanmelden voor medewerkers',
  'signin.username': 'Gebruikersnaam',
  'signin.password': 'Wachtwoord',
  'signin.submit': 'Aanmelden',
  'signin.or': 'of',
  'signin.sso': 'Aanmelden met {provider}',
  'signin.wrong': 'Gebruikersnaam of wachtwoord klopt niet.',
  'signin.rateLimited': 'Te veel mislukte pogingen. Wacht een minuut en probeer het opnieuw.',
  'signin.expired': 'Uw sessie is verlopen. Alle getoonde gegevens zijn van dit scherm verwijderd. Meld u opnieuw aan.',
  'signin.signedOut': 'U bent afgemeld.',
  'signin.error.failed': 'Aanmelden via single sign-on is mislukt. Probeer het opnieuw.',
  'signin.error.unavailable': 'De aanmeldservice is niet bereikbaar. Probeer het later opnieuw.',
  'signin.error.noAccount': 'U bent bekend bij de aanmeldservice, maar er is geen actief account voor u in Veilig Contact. Vraag een beheerder om een account.',

  'session.idle': 'Afgemeld over {time} zonder activiteit',
  'session.max': 'Sessie eindigt over {time}',
  'session.warning': 'U wordt binnenkort afgemeld wegens inactiviteit.',
  'session.stay': 'Aangemeld blijven',

  'queue.title': 'Wachtrij en contact',
  'queue.waiting': 'Wachtende contacten',
  'queue.empty': 'Er wacht niemand.',
  'queue.waitingFor': 'Wacht',
  'queue.verification': 'Verificatie',
  'queue.state': 'Status',
  'queue.state.waiting': 'wacht op een medewerker',
  'queue.state.mine': 'bij u in behandeling',
  'queue.take': 'Aannemen',
  'queue.resume': 'Hervatten',
  'queue.shown': 'Wordt hiernaast getoond.',
  'queue.new': 'Nieuw contact in de wachtrij: {purpose}',
  'prefs.legend': 'Melding bij een nieuw contact',
  'prefs.sound': 'Geluid',
  'prefs.notify': 'Browsermelding',
  'prefs.denied': 'De browser staat meldingen niet toe. Pas dit aan in de instellingen van de browser.',
  'notify.title': 'Nieuw contact in de wachtrij',

  'contact.none': 'Geen contact geopend',
  'contact.hint': 'Neem een contact aan om de geverifieerde gegevens te zien. Alleen wie het contact aanneemt ziet ze, en elke inzage wordt vastgelegd.',
  'contact.title': 'Contact: {purpose}',
  'contact.connection': 'Verbinding',
  'contact.unknown': 'onbekend',
  'contact.purpose': 'Onderwerp',
  'contact.means': 'Verificatie',
  'contact.disclosedAt': 'Gegevens gedeeld op',
  'contact.calledAt': 'Gebeld om',
  'contact.attributes': 'Geverifieerde gegevens',
  'contact.destroyNote': 'Deze gegevens worden vernietigd zodra het contact eindigt.',
  'contact.end': 'Contact beëindigen',
  'contact.ended': 'Het contact is beëindigd. De gegevens zijn verwijderd.',
  'contact.hungup': 'De beller heeft opgehangen. Het contact is beëindigd en de gegevens zijn verwijderd.',
  'contact.gone': 'Dit contact is niet meer actief. De gegevens zijn verwijderd.',
  'contact.takenElsewhere': 'Dit contact is al door een collega aangenomen of is beëindigd.',
  'contact.notYours': 'Dit contact hoort bij een onderwerp dat u niet behandelt.',
  'attr.name': 'Gegeven',
  'attr.value': 'Waarde',
  'attr.issuer': 'Uitgegeven door',
  'attr.issuedAt': 'Uitgegeven op',

  'nav.platform': 'Platform',
  'platform.title': 'Organisaties op dit platform',
  'platform.organisations': 'Organisaties',
  'platform.organisation': 'Organisatie',
  'platform.purposes': 'Onderwerpen',
  'platform.accounts': 'Accounts',
  'platform.live': 'Lopende contacten',
  'platform.note': 'Vandaag: vanaf {since}. U ziet alleen aantallen: geen contacten, gegevens, accounts of auditlog van een organisatie.',
  'platform.database.ok': 'De database antwoordt.',
  'platform.database.down': 'De database antwoordt niet.',
  'sup.title': 'Overzicht',
  'sup.summary': 'Samenvatting',
  'sup.online': 'Medewerkers online',
  'sup.waiting': 'Contacten wachtend',
  'sup.longest': 'Langste wachttijd',
  'sup.matched': 'Geverifieerd vandaag',
  'sup.unverified': 'Niet geverifieerd vandaag',
  'sup.todayNote': 'Vandaag: vanaf {since}. Niet geverifieerd telt elke ingetoetste code die bij geen geverifieerde sessie hoorde.',
  'sup.contacts': 'Lopende contacten',
  'sup.takenBy': 'Aangenomen door',
  'sup.someone': 'een medewerker',
  'sup.state.answered': 'in behandeling',
  'sup.agents': 'Medewerkers online',
  'sup.noAgents': 'Er is niemand aangemeld.',
  'sup.lastSeen': 'Laatst actief',
  'sup.inHand': 'Contacten in behandeling',
  'sup.byPurpose': 'Geverifieerde gesprekken per onderwerp vandaag',
  'sup.noCalls': 'Vandaag nog geen geverifieerde gesprekken.',

  'acc.title': 'Accounts',
  'acc.list': 'Alle accounts',
  'acc.new': 'Nieuw account',
  'acc.username': 'Gebruikersnaam',
  'acc.usernameHint': '2–64 letters, cijfers of . _ @ -. Bij single sign-on: de gebruikersnaam bij de aanmeldservice.',
  'acc.name': 'Naam',
  'acc.role': 'Rol',
  'acc.roleHint': 'Teamleiders zien ook het overzicht; beheerders ook accounts en het auditlog.',
  'acc.purposes': 'Onderwerpen',
  'acc.allPurposes': 'Alle onderwerpen',
  'acc.signin': 'Aanmelden',
  'acc.withPassword': 'wachtwoord',
  'acc.ssoOnly': 'alleen single sign-on',
  'acc.status': 'Status',
  'acc.active': 'actief',
  'acc.disabled': 'uitgeschakeld',
  'acc.actions': 'Acties',
  'acc.edit': 'Wijzigen',
  'acc.password': 'Nieuw wachtwoord',
  'acc.disable': 'Uitschakelen',
  'acc.enable': 'Inschakelen',
  'acc.create': 'Account aanmaken',
  'acc.created': 'Account {user} is aangemaakt.',
  'acc.saved': 'Account {user} is gewijzigd.',
  'acc.disabledDone': 'Account {user} is uitgeschakeld en overal afgemeld.',
  'acc.enabledDone': 'Account {user} is ingeschakeld.',
  'acc.editTitle': 'Account {user} wijzigen',
  'acc.passwordTitle': 'Nieuw wachtwoord voor {user}',
  'acc.newPassword': 'Nieuw wachtwoord',
  'acc.passwordHint': 'Minstens 12 tekens. Het account wordt overal afgemeld.',
  'acc.passwordDone': '{user} heeft een nieuw wachtwoord en is overal afgemeld.',
  'acc.passwordOptional': 'Wachtwoord (optioneel)',
  'acc.passwordOptionalHint': 'Minstens 12 tekens. Laat leeg voor een account dat alleen met single sign-on aanmeldt.',

  'audit.title': 'Auditlog',
  'audit.intro': 'Wie welke gegevens van welk contact heeft ingezien, en wanneer (NEN 7513). Waarden worden nooit vastgelegd, alleen welke gegevens zijn getoond. Elke export wordt zelf ook vastgelegd.',
  'audit.from': 'Van',
  'audit.to': 'Tot en met',
  'audit.who': 'Wie',
  'audit.anyone': 'Iedereen',
  'audit.action': 'Handeling',
  'audit.anyAction': 'Alle handelingen',
  'audit.contact': 'Contact',
  'audit.purposeFilter': 'Onderwerp',
  'audit.anyPurpose': 'Alle onderwerpen',
  'audit.show': 'Tonen',
  'audit.exportCSV': 'Exporteren als CSV',
  'audit.exportJSON': 'Exporteren als JSON',
  'audit.when': 'Wanneer',
  'audit.attributes': 'Getoonde gegevens',
  'audit.address': 'Adres',
  'audit.detail': 'Toelichting',
  'audit.about': 'over {user}:',
  'audit.count': '{n} regels',
  'audit.none': 'Geen regels gevonden.',
  'audit.more': 'Meer tonen',
  'audit.narrow': 'Er zijn meer regels: verklein de periode of exporteer.',
  'action.contact.opened': 'contact ingezien',
  'action.contact.ended': 'contact beëindigd',
  'action.agent.signin': 'aangemeld (wachtwoord)',
  'action.agent.signin.oidc': 'aangemeld (single sign-on)',
  'action.agent.signout': 'afgemeld',
  'action.account.created': 'account aangemaakt',
  'action.account.updated': 'account gewijzigd',
  'action.account.password_reset': 'wachtwoord ingesteld',
  'action.audit.exported': 'auditlog geëxporteerd',

  'error.load': 'Laden is mislukt. Probeer het opnieuw.',
  'error.generic': 'Er ging iets mis. Probeer het opnieuw.',
  'error.network': 'De server is niet bereikbaar.',
  'error.forbidden': 'U hebt hiervoor niet de juiste rol.',
};

const en = {
  skip: 'Skip to content',
  loading: 'Loading…',
  save: 'Save',
  cancel: 'Cancel',
  signout: 'Sign out',
  'nav.label': 'Main menu',
  'nav.queue': 'Queue',
  'nav.supervisor': 'Overview',
  'nav.accounts': 'Accounts',
  'nav.audit': 'Audit log',
  'lang.switch': 'Nederlands',
  'lang.switchLabel': 'Schakel naar Nederlands',
  'role.agent': 'agent',
  'role.supervisor': 'supervisor',
  'role.admin': 'admin',
  'role.operator': 'platform operator',
  'means.yivi': 'Yivi',
  'assurance.low': 'low',
  'assurance.substantial': 'substantial',
  'assurance.high': 'high',
  verified: 'Verified with {means}, level {assurance}',
  'link.newWindow': '(opens in a new window)',

  'signin.title': 'Sign in for agents',
  'signin.username': 'Username',
  'signin.password': 'Password',
  'signin.submit': 'Sign in',
  'signin.or': 'or',
  'signin.sso': 'Sign in with {provider}',
  'signin.wrong': 'Wrong username or password.',
  'signin.rateLimited': 'Too many failed attempts. Wait a minute and try again.',
  'signin.expired': 'Your session has ended. Everything shown has been removed from this screen. Please sign in again.',
  'signin.signedOut': 'You have signed out.',
  'signin.error.failed': 'Signing in with single sign-on failed. Please try again.',
  'signin.error.unavailable': 'The sign-in service cannot be reached. Please try again later.',
  'signin.error.noAccount': 'The sign-in service knows you, but Veilig Contact has no active account for you. Ask an admin for one.',

  'session.idle': 'Signed out in {time} without activity',
  'session.max': 'Session ends in {time}',
  'session.warning': 'You will soon be signed out for inactivity.',
  'session.stay': 'Stay signed in',

  'queue.title': 'Queue and contact',
  'queue.waiting': 'Waiting contacts',
  'queue.empty': 'Nobody is waiting.',
  'queue.waitingFor': 'Waiting',
  'queue.verification': 'Verification',
  'queue.state': 'State',
  'queue.state.waiting': 'waiting for an agent',
  'queue.state.mine': 'with you',
  'queue.take': 'Take',
  'queue.resume': 'Resume',
  'queue.shown': 'Shown alongside.',
  'queue.new': 'New contact waiting: {purpose}',
  'prefs.legend': 'Alert on a new contact',
  'prefs.sound': 'Sound',
  'prefs.notify': 'Browser notification',
  'prefs.denied': 'The browser does not allow notifications. Change this in the browser settings.',
  'notify.title': 'New contact waiting',

  'contact.none': 'No contact open',
  'contact.hint': 'Take a contact to see the verified attributes. Only the agent who takes it sees them, and every view is logged.',
  'contact.title': 'Contact: {purpose}',
  'contact.connection': 'Connection',
  'contact.unknown': 'unknown',
  'contact.purpose': 'Subject',
  'contact.means': 'Verification',
  'contact.disclosedAt': 'Attributes shared at',
  'contact.calledAt': 'Called at',
  'contact.attributes': 'Verified attributes',
  'contact.destroyNote': 'These attributes are destroyed as soon as the contact ends.',
  'contact.end': 'End contact',
  'contact.ended': 'The contact has ended. The attributes have been removed.',
  'contact.hungup': 'The caller hung up. The contact has ended and the attributes have been removed.',
  'contact.gone': 'This contact is no longer live. The attributes have been removed.',
  'contact.takenElsewhere': 'A colleague has already taken this contact, or it has ended.',
  'contact.notYours': 'This contact is for a subject you do not handle.',
  'attr.name': 'Attribute',
  'attr.value': 'Value',
  'attr.issuer': 'Issued by',
  'attr.issuedAt': 'Issued on',

  'nav.platform': 'Platform',
  'platform.title': 'Organisations on this platform',
  'platform.organisations': 'Organisations',
  'platform.organisation': 'Organisation',
  'platform.purposes': 'Purposes',
  'platform.accounts': 'Accounts',
  'platform.live': 'Live contacts',
  'platform.note': 'Today: since {since}. You see totals only: no contacts, details, accounts or audit log of an organisation.',
  'platform.database.ok': 'The database answers.',
  'platform.database.down': 'The database does not answer.',
  'sup.title': 'Overview',
  'sup.summary': 'Summary',
  'sup.online': 'Agents online',
  'sup.waiting': 'Contacts waiting',
  'sup.longest': 'Longest wait',
  'sup.matched': 'Verified today',
  'sup.unverified': 'Unverified today',
  'sup.todayNote': 'Today: since {since}. Unverified counts every code typed that matched no verified session.',
  'sup.contacts': 'Live contacts',
  'sup.takenBy': 'Taken by',
  'sup.someone': 'an agent',
  'sup.state.answered': 'being handled',
  'sup.agents': 'Agents online',
  'sup.noAgents': 'Nobody is signed in.',
  'sup.lastSeen': 'Last active',
  'sup.inHand': 'Contacts in hand',
  'sup.byPurpose': 'Verified calls by subject today',
  'sup.noCalls': 'No verified calls yet today.',

  'acc.title': 'Accounts',
  'acc.list': 'All accounts',
  'acc.new': 'New account',
  'acc.username': 'Username',
  'acc.usernameHint': '2–64 letters, digits or . _ @ -. With single sign-on: the username at the sign-in service.',
  'acc.name': 'Name',
  'acc.role': 'Role',
  'acc.roleHint': 'Supervisors also see the overview; admins also accounts and the audit log.',
  'acc.purposes': 'Subjects',
  'acc.allPurposes': 'All subjects',
  'acc.signin': 'Sign-in',
  'acc.withPassword': 'password',
  'acc.ssoOnly': 'single sign-on only',
  'acc.status': 'Status',
  'acc.active': 'active',
  'acc.disabled': 'disabled',
  'acc.actions': 'Actions',
  'acc.edit': 'Edit',
  'acc.password': 'New password',
  'acc.disable': 'Disable',
  'acc.enable': 'Enable',
  'acc.create': 'Create account',
  'acc.created': 'Account {user} has been created.',
  'acc.saved': 'Account {user} has been changed.',
  'acc.disabledDone': 'Account {user} has been disabled and signed out everywhere.',
  'acc.enabledDone': 'Account {user} has been enabled.',
  'acc.editTitle': 'Edit account {user}',
  'acc.passwordTitle': 'New password for {user}',
  'acc.newPassword': 'New password',
  'acc.passwordHint': 'At least 12 characters. The account is signed out everywhere.',
  'acc.passwordDone': '{user} has a new password and has been signed out everywhere.',
  'acc.passwordOptional': 'Password (optional)',
  'acc.passwordOptionalHint': 'At least 12 characters. Leave empty for an account that signs in with single sign-on only.',

  'audit.title': 'Audit log',
  'audit.intro': 'Who viewed which attributes of which contact, and when (NEN 7513). Values are never logged, only which attributes were shown. Every export is logged too.',
  'audit.from': 'From',
  'audit.to': 'Up to and including',
  'audit.who': 'Who',
  'audit.anyone': 'Anyone',
  'audit.action': 'Action',
  'audit.anyAction': 'All actions',
  'audit.contact': 'Contact',
  'audit.purposeFilter': 'Subject',
  'audit.anyPurpose': 'All subjects',
  'audit.show': 'Show',
  'audit.exportCSV': 'Export as CSV',
  'audit.exportJSON': 'Export as JSON',
  'audit.when': 'When',
  'audit.attributes': 'Attributes shown',
  'audit.address': 'Address',
  'audit.detail': 'Detail',
  'audit.about': 'about {user}:',
  'audit.count': '{n} entries',
  'audit.none': 'No entries found.',
  'audit.more': 'Show more',
  'audit.narrow': 'There are more entries: shorten the period or export.',
  'action.contact.opened': 'contact viewed',
  'action.contact.ended': 'contact ended',
  'action.agent.signin': 'signed in (password)',
  'action.agent.signin.oidc': 'signed in (single sign-on)',
  'action.agent.signout': 'signed out',
  'action.account.created': 'account created',
  'action.account.updated': 'account changed',
  'action.account.password_reset': 'password set',
  'action.audit.exported': 'audit log exported',

  'error.load': 'Loading failed. Please try again.',
  'error.generic': 'Something went wrong. Please try again.',
  'error.network': 'The server cannot be reached.',
  'error.forbidden': 'You do not have the role for this.',
};

export const dictionaries = { nl, en };

const KEY = 'veilig.console.lang';

function initial() {
  try {
    const stored = localStorage.getItem(KEY);
    if (stored === 'nl' || stored === 'en') return stored;
  } catch {
    /* no storage */
  }
  return (navigator.language || 'nl').toLowerCase().startsWith('nl') ? 'nl' : 'en';
}

let current = initial();
document.documentElement.lang = current;

export const lang = () => current;

export function setLang(l) {
  current = l === 'en' ? 'en' : 'nl';
  document.documentElement.lang = current;
  try {
    localStorage.setItem(KEY, current);
  } catch {
    /* no storage */
  }
}

// t translates key, filling {name} from vars. A missing key shows itself
// (and the i18n test fails on it).
export function t(key, vars) {
  const s = (current === 'en' ? en : nl)[key] ?? key;
  return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m)) : s;
}

// langSwitch is the button that switches language; rerender redraws.
export function langSwitch(rerender) {
  const other = current === 'en' ? 'nl' : 'en';
  return h('button', {
    type: 'button',
    class: 'link lang',
    lang: other,
    'aria-label': t('lang.switchLabel'),
    text: t('lang.switch'),
    onclick: () => {
      setLang(other);
      rerender();
    },
  });
}

const locale = () => (current === 'en' ? 'en-GB' : 'nl-NL');

export function fmtDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

const valid = (v) => v && !v.startsWith('0001-') && !Number.isNaN(Date.parse(v));

export const fmtTime = (v) => (valid(v) ? new Date(v).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '–');
export const fmtDate = (v) => (valid(v) ? new Date(v).toLocaleDateString(locale(), { day: 'numeric', month: 'long', year: 'numeric' }) : '–');
export const fmtDateTime = (v) => (valid(v) ? new Date(v).toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'medium' }) : '–');
