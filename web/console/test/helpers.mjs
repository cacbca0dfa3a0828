// Shared by the console's browser tests. They run under a Go test in
// cmd/veilig (see console_harness_test.go), which starts the real server,
// plays the Yivi app and the telephony platform, and meets this script in
// HANDSHAKE_DIR: step(name) says where the script is, answer(name) waits
// for the Go side. Every wait is bounded.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this test through its Go test in cmd/veilig`);
  return v;
};

export const BASE = () => env('BASE_URL');

// Chromium as the project runs it everywhere: Debian's, headless, with a
// fresh profile per launch.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 30_000,
  });
}

// page opens a fresh context (its own cookies) and collects what the page
// complains about, so a test can assert the console runs without errors
// (a CSP or Trusted Types violation shows up here).
export async function page(browser, opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: opts.locale || 'en-GB', ...opts });
  const p = await context.newPage();
  p.setDefaultTimeout(20_000);
  p.problems = [];
  p.on('pageerror', (e) => p.problems.push('page error: ' + e.message));
  p.on('console', (m) => {
    // Only the console's own pages count (not an identity provider's), and
    // the first /me of a signed-out page is a 401 by design.
    const where = (m.location() && m.location().url) || '';
    if (m.type() === 'error' && where.startsWith(BASE()) && !/status of 401/.test(m.text())) p.problems.push(`console: ${m.text()} (${where})`);
  });
  return p;
}

export async function screenshot(p, name) {
  const dir = process.env.ARTIFACTS_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await p.screenshot({ path: join(dir, `console-${name}.png`), fullPage: true });
}

// step tells the Go test the script reached name (with data as JSON).
export function step(name, data = {}) {
  const dir = env('HANDSHAKE_DIR');
  writeFileSync(join(dir, '.' + name), JSON.stringify(data));
  renameSync(join(dir, '.' + name), join(dir, name));
}

// answer waits for the Go test's answer to step name and returns it.
export async function answer(name, timeout = 60_000) {
  const dir = env('HANDSHAKE_DIR');
  const file = join(dir, 'go-' + name);
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (existsSync(join(dir, 'go-abort'))) throw new Error('the Go test gave up');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no answer from the Go test to ${name} within ${timeout} ms`);
}

// signIn signs in with the form, by keyboard only.
export async function signIn(p, username, password) {
  await p.goto(BASE() + '/agent/');
  const user = p.getByLabel(/^(Username|Gebruikersnaam)$/);
  await user.waitFor();
  // The form is reachable and usable by keyboard alone.
  await user.focus();
  await p.keyboard.type(username);
  await p.keyboard.press('Tab');
  await p.keyboard.type(password);
  await p.keyboard.press('Enter');
}

// accessibility checks what a machine can check of WCAG 2.1 AA on the page
// as it is: every form control has an accessible name, every image and
// button has text, headings exist, the language is set, and visible text
// has at least 4.5:1 contrast (3:1 when large) against its background.
export async function accessibility(p) {
  return p.evaluate(() => {
    const problems = [];
    const lum = (rgb) => {
      const [r, g, b] = rgb.map((v) => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { rgb: parts.slice(0, 3), a: parts.length > 3 ? parts[3] : 1 };
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c.rgb;
      }
      return [255, 255, 255];
    };
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      const s = getComputedStyle(el);
      return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.display !== 'none' && !el.closest('.visually-hidden');
    };
    if (!['nl', 'en'].includes(document.documentElement.lang)) problems.push('html lang is ' + document.documentElement.lang);
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden') continue;
      const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!named) problems.push(`${el.tagName.toLowerCase()}#${el.id} has no label`);
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (!el.textContent.trim() && !el.getAttribute('aria-label')) problems.push(`${el.tagName.toLowerCase()} without text`);
    }
    if (!document.querySelector('h1')) problems.push('no h1');
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || !el || seen.has(el) || !visible(el)) continue;
      seen.add(el);
      const s = getComputedStyle(el);
      const fg = parse(s.color);
      if (!fg) continue;
      const bg = background(el);
      const [a, b] = [lum(fg.rgb), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(s.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} for "${n.textContent.trim().slice(0, 30)}"`);
    }
    return problems;
  });
}

// axe-core's own script, put into a page by checkAxe.
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// checkAxe runs axe-core over the whole page as it is now, with every rule
// axe runs by default (WCAG 2.x A and AA and the best practices, such as
// "all content is in landmarks"), and fails with a readable list of what it
// found: rule, impact, and the selectors of the elements. The console is
// served with a strict Content-Security-Policy that requires Trusted Types:
// a <script> tag (page.addScriptTag) would be refused, so axe's source goes
// in with page.evaluate, which the DevTools protocol runs apart from the
// page's policy. The console is checked under the policy it is served with.
export async function checkAxe(p, where) {
  if (!(await p.evaluate(() => typeof window.axe === 'object'))) await p.evaluate(axeSource);
  const violations = await p.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(' '), summary: n.failureSummary || '' })),
    }));
  });
  if (violations.length) throw new Error(`axe: ${violations.length} rule(s) violated on ${where}:\n${formatViolations(violations)}`);
}

export function formatViolations(violations) {
  return violations
    .map((v) => `  ${v.id} (${v.impact}): ${v.help}\n` + v.nodes.map((n) => `    ${n.target}\n      ${n.summary.replace(/\n/g, '\n      ')}`).join('\n'))
    .join('\n');
}

// tabTo presses Tab until the focused element matches selector (at most
// max presses): proof that it can be reached by keyboard.
export async function tabTo(p, selector, max = 40) {
  for (let i = 0; i < max; i++) {
    await p.keyboard.press('Tab');
    if (await p.evaluate((sel) => document.activeElement && document.activeElement.matches(sel), selector)) return;
  }
  throw new Error(`${selector} not reached with ${max} presses of Tab`);
}
