// The platform operator's view in headless Chromium (driven by
// TestConsoleOperatorBrowser in cmd/veilig): after signing in by keyboard
// the operator sees every organisation's totals and the database's health,
// in English and in Dutch, and nothing personal, no contact and no account
// of an organisation; the agents' views are not offered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessibility, answer, checkAxe, launch, page, screenshot, signIn, step } from './helpers.mjs';

test('platform operator', async () => {
  const browser = await launch();
  try {
    const ctx = await answer('start');
    const p = await page(browser);
    await signIn(p, 'otto', 'otto-password-long');
    await p.getByRole('heading', { name: 'Organisations on this platform' }).waitFor();
    const nav = await p.locator('nav a').evaluateAll((as) => as.map((a) => a.dataset.view));
    assert.deepEqual(nav, ['platform'], 'only the platform view is offered');
    const row = (name) => p.getByRole('row').filter({ has: p.getByRole('rowheader', { name, exact: true }) });
    const home = row('Municipality of Voorbeeldstad (demo)');
    await home.waitFor();
    const cells = async (r) => r.locator('td').allTextContents();
    // Purposes, accounts, live contacts, verified today, unverified today.
    assert.deepEqual(await cells(home), ['2', '2', '1', '1', '1']);
    assert.deepEqual(await cells(row('Municipality of Anderdorp (demo)')), ['1', '1', '0', '0', '0']);
    assert.equal(await p.locator('[data-health]').getAttribute('data-health'), 'ok');
    const text = await p.locator('main').textContent();
    for (const v of ctx.personal) assert.ok(!text.includes(v), `the operator sees ${v}`);
    assert.deepEqual(await accessibility(p), [], 'platform view accessibility');
    await screenshot(p, 'operator-01-platform');
    await checkAxe(p, 'the platform view');

    // In Dutch.
    await p.getByRole('button', { name: 'Schakel naar Nederlands' }).click();
    await p.getByRole('heading', { name: 'Organisaties op dit platform' }).waitFor();
    await row('Gemeente Anderdorp (demo)').waitFor();
    await checkAxe(p, 'the platform view (nl)');

    // A hash for an agent's view still shows the platform.
    await p.goto(p.url().split('#')[0] + '#queue');
    await p.getByRole('heading', { name: /Organisaties op dit platform|Organisations on this platform/ }).waitFor();
    step('done');
  } finally {
    await browser.close();
  }
});
