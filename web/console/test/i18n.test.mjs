// Dutch and English stay complete: both dictionaries have the same keys,
// every key the sources ask for exists, and the placeholders match. Needs
// no browser.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

// i18n.js runs in a browser; give it the little it touches at load.
globalThis.document = { documentElement: {}, createElement: () => ({}) };
globalThis.localStorage = { getItem: () => null, setItem: () => {} };
Object.defineProperty(globalThis, 'navigator', { value: { language: 'nl-NL' }, configurable: true });
const { dictionaries } = await import('../src/i18n.js');
const { nl, en } = dictionaries;

const src = join(import.meta.dirname, '..', 'src');
const sources = Object.fromEntries(
  readdirSync(src)
    .filter((f) => f.endsWith('.js'))
    .map((f) => [f, readFileSync(join(src, f), 'utf8')]),
);

test('both languages have the same keys', () => {
  assert.deepEqual(Object.keys(nl).sort(), Object.keys(en).sort());
  for (const k of Object.keys(nl)) {
    assert.ok(nl[k].trim() && en[k].trim(), `${k} is empty`);
    const vars = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(vars(nl[k]), vars(en[k]), `${k} has other placeholders in nl and en`);
  }
});

test('every key the sources use exists', () => {
  const used = new Set();
  for (const code of Object.values(sources)) {
    // t('key'), t(cond ? 'a' : 'b'), view titles, and sign-in error codes.
    for (const m of code.matchAll(/\bt\(\s*'([^']+)'/g)) used.add(m[1]);
    for (const m of code.matchAll(/\bt\(\s*[^'()]*\?\s*'([^']+)'\s*:\s*'([^']+)'/g)) used.add(m[1]).add(m[2]);
    for (const m of code.matchAll(/title: '([^']+)'/g)) used.add(m[1]);
    for (const m of code.matchAll(/: '(signin\.error\.[A-Za-z]+)'/g)) used.add(m[1]);
  }
  // Keys made from data.
  const actions = JSON.parse(sources['audit.js'].match(/const ACTIONS = (\[[^\]]+\])/)[1].replaceAll("'", '"'));
  for (const a of actions) used.add('action.' + a);
  for (const r of ['agent', 'supervisor', 'admin']) used.add('role.' + r);
  for (const a of ['low', 'substantial', 'high']) used.add('assurance.' + a);
  used.add('means.yivi');
  assert.ok(used.size > 150, `only ${used.size} keys found: the scan is broken`);
  const missing = [...used].filter((k) => !k.endsWith('.') && !(k in nl));
  assert.deepEqual(missing, []);
});

test('the audit actions are the server’s', () => {
  // The server's list, from the OpenAPI document.
  const openapi = readFileSync(join(import.meta.dirname, '..', '..', '..', 'httpapi', 'openapi.yaml'), 'utf8');
  const server = openapi.match(/AuditAction: \{[^}]*enum: \[([^\]]+)\]/)[1].split(',').map((s) => s.trim());
  const actions = JSON.parse(sources['audit.js'].match(/const ACTIONS = (\[[^\]]+\])/)[1].replaceAll("'", '"'));
  assert.deepEqual(actions, server);
});
