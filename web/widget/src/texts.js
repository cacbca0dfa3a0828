// Every text the widget shows, in Dutch and English. Placeholders are
// {name}; values are inserted as text, never as HTML.
export const texts = {
  nl: {
    title: 'Bel ons met Yivi',
    close: 'Sluiten',
    cancel: 'Annuleren',
    retry: 'Opnieuw beginnen',
    stepShare: 'Gegevens delen',
    stepCall: 'Bellen',
    stepTalk: 'In gesprek',
    stepDone: 'klaar',
    steps: 'Voortgang',
    loading: 'Een moment alstublieft…',
    scan: 'Scan de QR-code met de Yivi-app op uw telefoon. Daarna belt uw telefoon ons.',
    qrLabel: 'QR-code om te scannen met de Yivi-app',
    app: 'Open de Yivi-app om uw gegevens te delen. Daarna belt uw telefoon ons.',
    pairing: 'Vul de koppelcode in die de Yivi-app laat zien.',
    disclosing: 'Volg de stappen in de Yivi-app.',
    disclosed: 'Dank u. Wij wachten op uw telefoontje.',
    dialTitle: 'Bel ons nu',
    dialIntro: 'Na het delen belt de Yivi-app ons vanzelf. Gebeurt dat niet? Bel dan zelf met de telefoon waarmee u deelde:',
    dialNumber: 'Telefoonnummer',
    dialCode: 'Code: toets deze na de piep',
    dialCall: 'Bel nu',
    dialUntil: 'Bel vóór {time}; daarna vervalt de code.',
    matched: 'U bent verbonden. Een medewerker neemt zo op.',
    answered: 'U bent in gesprek met een medewerker.',
    ended: 'Het gesprek is beëindigd. De gedeelde gegevens zijn gewist.',
    expired: 'De tijd om te bellen is verstreken. Begin opnieuw als u ons nog wilt bellen.',
    cancelled: 'U heeft het gesprek afgebroken. Er zijn geen gegevens bewaard.',
    failed: 'Uw gegevens konden niet worden gecontroleerd. Begin opnieuw.',
    unknownPurpose: 'Deze knop is niet goed ingesteld: het onderwerp “{purpose}” bestaat niet bij Veilig Contact. Neem op een andere manier contact met ons op.',
    originRefused: 'Deze website mag Veilig Contact niet gebruiken voor “{purpose}”. Neem op een andere manier contact met ons op.',
    unavailable: 'Veilig Contact is nu niet bereikbaar. Probeer het later opnieuw.',
    lost: 'De verbinding met Veilig Contact is verbroken. Begin opnieuw als u ons nog niet gesproken heeft.',
  },
  en: {
    title: 'Call us with Yivi',
    close: 'Close',
    cancel: 'Cancel',
    retry: 'Start again',
    stepShare: 'Share details',
    stepCall: 'Call',
    stepTalk: 'Talking',
    stepDone: 'done',
    steps: 'Progress',
    loading: 'One moment please…',
    scan: 'Scan the QR code with the Yivi app on your phone. Your phone will then call us.',
    qrLabel: 'QR code to scan with the Yivi app',
    app: 'Open the Yivi app to share your details. Your phone will then call us.',
    pairing: 'Enter the pairing code the Yivi app shows.',
    disclosing: 'Follow the steps in the Yivi app.',
    disclosed: 'Thank you. We are waiting for your call.',
    dialTitle: 'Call us now',
    dialIntro: 'After sharing, the Yivi app calls us by itself. If it does not, call us yourself from the phone you shared with:',
    dialNumber: 'Phone number',
    dialCode: 'Code: type it after the beep',
    dialCall: 'Call now',
    dialUntil: 'Call before {time}; the code expires after that.',
    matched: 'You are connected. An agent will answer shortly.',
    answered: 'You are talking with an agent.',
    ended: 'The call has ended. The details you shared have been erased.',
    expired: 'The time to call has passed. Start again if you still want to call us.',
    cancelled: 'You cancelled. Nothing was kept.',
    failed: 'Your details could not be verified. Please start again.',
    unknownPurpose: 'This button is not set up correctly: Veilig Contact has no subject “{purpose}”. Please contact us another way.',
    originRefused: 'This website may not use Veilig Contact for “{purpose}”. Please contact us another way.',
    unavailable: 'Veilig Contact cannot be reached right now. Please try again later.',
    lost: 'The connection to Veilig Contact was lost. Start again if you have not talked to us yet.',
  },
};

// language picks the widget's language: the one asked for, else the page's
// (<html lang>), else Dutch.
export function language(asked) {
  const pick = (l) => (l || '').toLowerCase().slice(0, 2);
  const a = pick(asked);
  if (texts[a]) return a;
  const page = typeof document !== 'undefined' ? pick(document.documentElement.lang) : '';
  return texts[page] ? page : 'nl';
}

export function text(lang, key, values) {
  let s = texts[lang][key];
  if (values) {
    for (const [k, v] of Object.entries(values)) s = s.split('{' + k + '}').join(String(v));
  }
  return s;
}
