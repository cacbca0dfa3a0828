// Helpers for the browser tests: Debian's Chromium driven by playwright-core
// (no browser download), with a fresh profile, screenshots kept in
// ARTIFACTS_DIR. The Go tests in cmd/veilig start veilig and run these with
// the URLs in the environment.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeGroups } from '../src/code.js';

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
// errors, Content-Security-Policy violations, failed loads of our files,
// and a 404 for anything a page loads (API calls, which may answer 404 by
// design, aside).
export function watch(page, problems) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    // While axe runs, it reads cross-origin style sheets by parsing their
    // text in a <style> element, which an embedding site's style-src
    // refuses: that refusal is axe's, not the page's.
    if (page.__axeRunning && /^Applying inline style violates/.test(text)) return;
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
  });
  page.on('requestfailed', (r) => {
    const u = r.url();
    if (/\/widget\/|\/demo\/assets\//.test(u)) problems.push(`failed to load ${u}: ${r.failure() && r.failure().errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() === 404 && !['fetch', 'xhr', 'eventsource'].includes(r.request().resourceType())) problems.push(`404 for ${r.url()}`);
  });
}

// checkIcon checks that the page names an icon and that it is served, so
// browsers do not ask for /favicon.ico and get a 404 (headless Chromium
// asks for no icon by itself).
export async function checkIcon(page) {
  const href = await page.locator('link[rel="icon"]').getAttribute('href');
  assert.ok(href, 'the page links an icon');
  const r = await page.request.get(new URL(href, page.url()).href);
  assert.equal(r.status(), 200, `icon ${href}`);
  assert.match(r.headers()['content-type'], /^image\/svg\+xml/);
}

// checkCode checks how the widget shows the code: groups of three and four
// digits apart on screen, the digits one by one for screen readers (and
// nothing else of the code for them), and the plain digits when copied.
export async function checkCode(widget, code) {
  const dd = widget.locator('.vc-code');
  assert.equal(await dd.getAttribute('aria-label'), null, 'no aria-label on the <dd>');
  assert.deepEqual(await dd.locator('.vc-code-group').allTextContents(), codeGroups(code));
  assert.equal(await dd.locator('.vc-code-groups').getAttribute('aria-hidden'), 'true');
  const spoken = code.split('').join(' ');
  assert.equal(await dd.locator('.vc-code-spoken').textContent(), spoken);
  const snapshot = await dd.ariaSnapshot();
  assert.ok(snapshot.includes(spoken) && !snapshot.includes(codeGroups(code)[0]), `screen readers get ${snapshot}`);
  const gaps = await dd.locator('.vc-code-group').evaluateAll((els) => els.slice(1).map((el, i) => el.getBoundingClientRect().left - els[i].getBoundingClientRect().right));
  for (const gap of gaps) assert.ok(gap >= 4, `groups ${gap} px apart`);
  // Copying the selected code gives the digits, without spaces or the
  // text for screen readers.
  const copied = await dd.evaluate((el) => {
    getSelection().selectAllChildren(el);
    const data = new DataTransfer();
    el.firstChild.dispatchEvent(new ClipboardEvent('copy', { clipboardData: data, bubbles: true, cancelable: true }));
    getSelection().removeAllRanges();
    return data.getData('text/plain');
  });
  assert.equal(copied, code, 'what a copy of the code holds');
  // Selected with what is around it, the code is the plain digits too.
  const around = await widget.locator('.vc-dial-facts').evaluate((el) => {
    getSelection().selectAllChildren(el);
    const text = getSelection().toString();
    getSelection().removeAllRanges();
    return text;
  });
  assert.ok(around.includes(code) && !around.includes(spoken), `selected: ${JSON.stringify(around)}`);
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

// axe-core's own script, put into a page by checkAxe.
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// checkAxe runs axe-core over the whole page as it is now, with every rule
// axe runs by default (WCAG 2.x A and AA and the best practices, such as
// "all content is in landmarks"), and fails with a readable list of what it
// found: rule, impact, and the selectors of the elements. axe's source goes
// into the page with page.evaluate, which the DevTools protocol runs apart
// from the page's Content-Security-Policy (a <script> tag would be refused
// by script-src 'self'), so the pages are checked under the CSP they are
// served with.
export async function checkAxe(page, where) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  page.__axeRunning = true;
  let violations;
  try {
    violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(' '), summary: n.failureSummary || '' })),
      }));
    });
    // One more round trip: what the page logged while axe ran has arrived.
    await page.evaluate(() => 0);
  } finally {
    page.__axeRunning = false;
  }
  if (violations.length) throw new Error(`axe: ${violations.length} rule(s) violated on ${where}:\n${formatViolations(violations)}`);
}

export function formatViolations(violations) {
  return violations
    .map((v) => `  ${v.id} (${v.impact}): ${v.help}\n` + v.nodes.map((n) => `    ${n.target}\n      ${n.summary.replace(/\n/g, '\n      ')}`).join('\n'))
    .join('\n');
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
    stepDone: 'klaar',
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
    stepDone: 'done',
    dialTitle: 'Call us now',
    cancel: 'Cancel',
    close: 'Close',
    qrLabel: 'QR code to scan with the Yivi app',
    unknownPurpose: 'This button is not set up correctly: Veilig Contact has no subject “{purpose}”. Please contact us another way.',
    originRefused: 'This website may not use Veilig Contact for “{purpose}”. Please contact us another way.',
  },
};

// The demo phone's texts the tests wait for (demo/pages/assets/i18n.js).
export const phoneText = {
  nl: {
    answered: 'Een medewerker heeft uw gesprek aangenomen.',
    ended: 'Het gesprek is beëindigd door het contactcentrum.',
  },
  en: {
    answered: 'An agent has answered your call.',
    ended: 'The contact centre has ended the call.',
  },
};
