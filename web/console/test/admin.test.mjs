// The supervisor and admin views in headless Chromium (driven by
// TestConsoleAdminBrowser in cmd/veilig): the overview shows who is online
// and what waits; an admin makes, changes, disables an account and sets
// its password; the audit log filters and exports as CSV and JSON.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { accessibility, answer, checkAxe, launch, page, screenshot, signIn, step } from './helpers.mjs';

test('supervisor overview, accounts and audit log', async () => {
  const browser = await launch();
  try {
    const ctx = await answer('start');
    const p = await page(browser);
    await signIn(p, 'ada', 'ada-password-long');
    await p.locator('nav a[data-view="audit"]').waitFor();

    // Overview.
    await p.locator('nav a[data-view="supervisor"]').click();
    await p.getByRole('heading', { name: 'Overview' }).waitFor();
    const tile = (k) => p.locator(`.tile[data-tile="${k}"] .tile-value`);
    await tile('waiting').filter({ hasText: /^1$/ }).waitFor();
    assert.equal(await tile('matched').textContent(), '2');
    assert.equal(await tile('unverified').textContent(), '1');
    assert.match(await tile('longest').textContent(), /^\d+:\d\d$/);
    const online = await tile('online').textContent();
    assert.ok(Number(online) >= 2, `online ${online}`);
    const page1 = await p.locator('main').textContent();
    for (const v of ctx.personal) assert.ok(!page1.includes(v), 'the overview shows no personal data');
    assert.match(page1, /Agent alice/);
    assert.deepEqual(await accessibility(p), [], 'overview accessibility');
    await screenshot(p, 'admin-01-overview');
    await checkAxe(p, 'the supervisor overview');

    // Accounts: create.
    await p.locator('nav a[data-view="accounts"]').click();
    await p.getByRole('heading', { name: 'Accounts', level: 1 }).waitFor();
    await p.getByRole('rowheader', { name: 'alice', exact: true }).waitFor();
    const form = p.locator('form.form');
    await form.getByLabel('Username', { exact: true }).fill('bea');
    await form.getByLabel('Name', { exact: true }).fill('Bea Backoffice');
    await form.getByLabel('Role', { exact: true }).selectOption('supervisor');
    await form.getByLabel('Question about your tax assessment (demo)').check();
    await form.getByLabel('Password (optional)').fill('bea-password-long');
    await form.getByRole('button', { name: 'Create account' }).click();
    await p.getByRole('status').filter({ hasText: 'Account bea has been created.' }).waitFor();
    const bea = p.getByRole('row').filter({ has: p.getByRole('rowheader', { name: 'bea', exact: true }) });
    await bea.waitFor();
    assert.match(await bea.textContent(), /Bea Backoffice.*supervisor.*Question about your tax assessment \(demo\).*password.*active/);
    assert.deepEqual(await accessibility(p), [], 'accounts accessibility');
    await screenshot(p, 'admin-02-accounts');
    await checkAxe(p, 'the accounts');

    // Change the role in the dialog, by keyboard.
    await bea.getByRole('button', { name: 'Edit bea' }).click();
    const dlg = p.getByRole('dialog', { name: 'Edit account bea' });
    await dlg.waitFor();
    await dlg.getByLabel('Role').selectOption('agent');
    await dlg.getByLabel('All subjects').check();
    await screenshot(p, 'admin-03-edit');
    await checkAxe(p, 'the dialog that edits an account');
    await dlg.getByRole('button', { name: 'Save' }).press('Enter');
    await p.getByRole('status').filter({ hasText: 'Account bea has been changed.' }).waitFor();
    await p.getByRole('row').filter({ hasText: 'Bea Backoffice' }).filter({ hasText: 'All subjects' }).filter({ hasText: 'agent' }).waitFor();

    // New password, then disable.
    await bea.getByRole('button', { name: 'New password bea' }).click();
    const pwd = p.getByRole('dialog', { name: 'New password for bea' });
    await checkAxe(p, 'the dialog that sets a password');
    await pwd.getByLabel('New password').fill('short');
    await pwd.getByRole('button', { name: 'Save' }).click();
    // Too short: the form says so and the dialog stays.
    assert.equal(await pwd.getByLabel('New password').evaluate((el) => el.checkValidity()), false);
    assert.ok(await pwd.isVisible());
    await pwd.getByLabel('New password').fill('bea-new-password-long');
    await pwd.getByRole('button', { name: 'Save' }).click();
    await p.getByRole('status').filter({ hasText: 'bea has a new password' }).waitFor();
    await bea.getByRole('button', { name: 'Disable bea' }).click();
    await p.getByRole('status').filter({ hasText: 'Account bea has been disabled' }).waitFor();
    await p.getByRole('row').filter({ hasText: 'Bea Backoffice' }).filter({ hasText: 'disabled' }).waitFor();

    // Audit log: the views of contacts.
    await p.locator('nav a[data-view="audit"]').click();
    await p.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    await p.getByLabel('Action').selectOption('contact.opened');
    await p.getByRole('button', { name: 'Show' }).click();
    await p.getByText('1 entries').waitFor();
    const row = p.locator('tbody tr').first();
    const rowText = await row.textContent();
    assert.match(rowText, /alice.*contact viewed/);
    assert.ok(rowText.includes(ctx.contact), 'the entry names the contact');
    for (const id of ctx.attributes) assert.ok(rowText.includes(id), `the entry names ${id}`);
    for (const v of ctx.personal) assert.ok(!rowText.includes(v), 'the audit log holds no values');
    assert.deepEqual(await accessibility(p), [], 'audit accessibility');
    await screenshot(p, 'admin-04-audit');
    await checkAxe(p, 'the audit log');

    const download = async (name) => {
      const [dl] = await Promise.all([p.waitForEvent('download'), p.getByRole('link', { name }).click()]);
      return { name: dl.suggestedFilename(), body: readFileSync(await dl.path(), 'utf8') };
    };
    const csv = await download('Export as CSV');
    assert.match(csv.name, /^veilig-audit-\d{8}T\d{6}Z\.csv$/);
    const lines = csv.body.trim().split('\n');
    assert.equal(lines[0], 'id,at,agent_id,agent_username,action,contact_id,purpose,attributes,remote_addr,subject,subject_username,detail');
    assert.equal(lines.length, 2);
    assert.match(lines[1], new RegExp(`,alice,contact\\.opened,${ctx.contact},demo,`));
    const json = JSON.parse((await download('Export as JSON')).body);
    assert.equal(json.exportedBy, 'ada');
    assert.equal(json.filter, 'action=contact.opened');
    assert.equal(json.count, 1);
    assert.equal(json.entries[0].agentUsername, 'alice');
    assert.deepEqual([...json.entries[0].attributes].sort(), [...ctx.attributes].sort());

    // Both exports are in the log themselves.
    await p.getByLabel('Action').selectOption('audit.exported');
    await p.getByRole('button', { name: 'Show' }).click();
    await p.getByText('2 entries').waitFor();
    await screenshot(p, 'admin-05-exports-logged');
    assert.deepEqual(p.problems, []);
    step('done');
  } finally {
    await browser.close();
  }
});
