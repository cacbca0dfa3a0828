// The queue is live on every replica (driven by TestConsoleReplicas in
// cmd/veilig): the console is served by replica A, the call is matched and
// later hung up through replica B's telephony API, and the console sees
// both through A's event stream (PostgreSQL LISTEN/NOTIFY between them).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answer, launch, page, screenshot, signIn, step } from './helpers.mjs';

test('a call matched on another replica appears live, and its hang-up clears it', async () => {
  const browser = await launch();
  try {
    const p = await page(browser);
    await signIn(p, 'alice', 'alice-password-long');
    await p.getByText('Nobody is waiting.').waitFor();
    step('ready');
    const call = await answer('ready');
    await p.locator(`li[data-contact="${call.contact}"] button.take`).click({ timeout: 20_000 });
    await p.locator('table.attributes').waitFor();
    assert.equal(await p.locator('table.attributes tbody tr').count(), 3);
    await screenshot(p, 'replica-01-taken');
    step('taken');
    // In the contact panel: the same words go to the screen readers' live
    // region too, and a locator must name one element.
    await p.locator('section.contact').getByText('The caller hung up.', { exact: false }).waitFor({ timeout: 20_000 });
    assert.equal(await p.locator('table.attributes').count(), 0);
    await screenshot(p, 'replica-02-hung-up');
    assert.deepEqual(p.problems, []);
  } finally {
    await browser.close();
  }
  step('done');
});
