// Helpers for the browser tests: Debian's Chromium driven by playwright-core
// (no browser download), with a fresh profile, screenshots kept in
// ARTIFACTS_DIR. The Go tests in cmd/veilig start veilig and run these with
// the URLs in the environment.
import { chromium } from 'playwright-core';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run this test from its Go test in cmd/veilig)`);
  return v;
};

// open starts Chromium with the flags that keep it off the network (this
// machine has none but loopback) and returns its context and a closer.
export async function open(options = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'veilig-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1280, height: 900 },
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam',
    ...options,
  });
  context.setDefaultTimeout(20000);
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

// watch fails the test on anything the page should never do: script
// errors, Content-Security-Policy violations, failed loads of our files.
export function watch(page, problems) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
  });
  page.on('requestfailed', (r) => {
    const u = r.url();
    if (/\/widget\/|\/demo\/assets\//.test(u)) problems.push(`failed to load ${u}: ${r.failure() && r.failure().errorText}`);
  });
}

export async function screenshot(page, name) {
  const dir = process.env.ARTIFACTS_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

// contrast returns the WCAG contrast ratio of an element's text against
// the first opaque background behind it.
export async function contrast(locator) {
  return locator.evaluate((el) => {
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const c = [r, g, b].map((v) => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const fg = rgb(getComputedStyle(el).color);
    let bg = null;
    for (let n = el; n && !bg; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length >= 3 && (c.length === 3 || c[3] > 0.99)) bg = c;
    }
    bg = bg || [255, 255, 255];
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
  });
}

// The widget's texts, as the tests expect them (kept apart from the
// source on purpose: a changed text must be a conscious change).
export const widgetText = {
  nl: {
    scan: 'Scan de QR-code met de Yivi-app op uw telefoon. Daarna belt uw telefoon ons.',
    disclosed: 'Dank u. Wij wachten op uw telefoontje.',
    matched: 'U bent verbonden. Een medewerker neemt zo op.',
    answered: 'U bent in gesprek met een medewerker.',
    ended: 'Het gesprek is beëindigd. De gedeelde gegevens zijn gewist.',
    cancelled: 'U heeft het gesprek afgebroken. Er zijn geen gegevens bewaard.',
    dialTitle: 'Bel ons nu',
    cancel: 'Annuleren',
    close: 'Sluiten',
    qrLabel: 'QR-code om te scannen met de Yivi-app',
    unknownPurpose: 'Deze knop is niet goed ingesteld: het onderwerp “{purpose}” bestaat niet bij Veilig Contact. Neem op een andere manier contact met ons op.',
    originRefused: 'Deze website mag Veilig Contact niet gebruiken voor “{purpose}”. Neem op een andere manier contact met ons op.',
  },
  en: {
    scan: 'Scan the QR code with the Yivi app on your phone. Your phone will then call us.',
    disclosed: 'Thank you. We are waiting for your call.',
    matched: 'You are connected. An agent will answer shortly.',
    answered: 'You are talking with an agent.',
    ended: 'The call has ended. The details you shared have been erased.',
    cancelled: 'You cancelled. Nothing was kept.',
    dialTitle: 'Call us now',
    cancel: 'Cancel',
    close: 'Close',
    qrLabel: 'QR code to scan with the Yivi app',
    unknownPurpose: 'This button is not set up correctly: Veilig Contact has no subject “{purpose}”. Please contact us another way.',
    originRefused: 'This website may not use Veilig Contact for “{purpose}”. Please contact us another way.',
  },
};
