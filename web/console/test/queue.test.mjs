// The agent's day in the console, in headless Chromium against the real
// server (driven by TestConsoleBrowser in cmd/veilig): sign in, see a
// verified contact appear live when the Go test matches a call through the
// telephony API, take it, see exactly the verified attributes with human
// labels and the configured link, end it and see everything gone; a second
// agent of the same purpose sees the contact wait but never its attributes;
// an agent of another purpose never sees it; a hang-up clears the screen;
// a session that times out signs the console out and forgets everything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessibility, answer, BASE, checkAxe, launch, page, screenshot, signIn, step, tabTo } from './helpers.mjs';

const pw = (u) => u + '-password-long';

// valuesIn tells which of the given secret values appear anywhere in the
// page: its DOM text, attributes, or this origin's storage.
async function valuesIn(p, values) {
  return p.evaluate((vals) => {
    const hay = [document.documentElement.outerHTML, JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })].join('\n');
    return vals.filter((v) => hay.includes(v));
  }, values);
}

test('live queue, take, attributes, end, hang-up, second agent, timeout', async () => {
  const browser = await launch();
  try {
    const alice = await page(browser);
    // Bob turns on sound and notifications; the test records what the
    // browser is asked to do (and says bob's window is in the background).
    const bob = await page(browser, { permissions: ['notifications'] });
    await bob.addInitScript(() => {
      window.__alerts = { notifications: [], tones: 0 };
      const N = window.Notification;
      class Recorded extends N {
        constructor(title, opts) {
          super(title, opts);
          window.__alerts.notifications.push({ title, body: opts && opts.body });
        }
      }
      Object.defineProperty(Recorded, 'permission', { get: () => N.permission });
      Recorded.requestPermission = (...a) => N.requestPermission(...a);
      window.Notification = Recorded;
      const osc = AudioContext.prototype.createOscillator;
      AudioContext.prototype.createOscillator = function () {
        window.__alerts.tones++;
        return osc.call(this);
      };
      Document.prototype.hasFocus = () => false;
    });
    const carol = await page(browser, { locale: 'nl-NL' });

    // A wrong password is refused with a clear message.
    await signIn(alice, 'alice', 'not-the-password');
    await alice.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    assert.deepEqual(await accessibility(alice), [], 'sign-in page accessibility');
    await screenshot(alice, '01-signin-wrong-password');
    await checkAxe(alice, 'the sign-in page with an error');

    for (const [p, u] of [[alice, 'alice'], [bob, 'bob'], [carol, 'carol']]) {
      await signIn(p, u, pw(u));
      await p.locator('nav a[data-view="queue"]').waitFor();
    }
    await bob.getByLabel('Sound').check();
    await bob.getByLabel('Browser notification').check();
    assert.ok(await bob.getByLabel('Browser notification').isChecked(), 'notifications are on');
    const tonesBefore = await bob.evaluate(() => window.__alerts.tones);
    await alice.getByText('Nobody is waiting.').waitFor();
    await carol.getByText('Er wacht niemand.').waitFor(); // Dutch for a Dutch browser
    assert.equal(await carol.locator('html').getAttribute('lang'), 'nl');
    assert.match(await alice.locator('.timer').textContent(), /Signed out in \d+:\d\d without activity/);
    assert.equal(await alice.locator('nav a[data-view="supervisor"]').count(), 0, 'an agent has no supervisor view');
    await screenshot(alice, '02-queue-empty');
    await checkAxe(alice, 'the empty queue');
    assert.deepEqual(await accessibility(carol), [], 'Dutch queue accessibility');
    await screenshot(carol, '02-queue-dutch');
    await checkAxe(carol, 'the empty queue in Dutch');

    // The Go test now has a person disclose and call.
    step('ready');
    const call1 = await answer('ready');

    const card = alice.locator(`li[data-contact="${call1.contact}"]`);
    await card.waitFor({ timeout: 20_000 }); // live, without a reload
    const text = await card.textContent();
    assert.match(text, /Question about your tax assessment \(demo\)/);
    assert.match(text, new RegExp(call1.caller.replace('+', '\\+')));
    assert.match(text, /Verified with Yivi, level substantial/);
    assert.match(await card.locator('.wait').textContent(), /^\d+:\d\d$/);
    assert.equal(await alice.locator('#queue-h .count').textContent(), '(1)', 'one contact waits');
    assert.deepEqual(await valuesIn(alice, call1.values), [], 'no attribute reaches the page before the contact is taken');
    await bob.locator(`li[data-contact="${call1.contact}"]`).waitFor();
    const alerted = await bob.evaluate(() => window.__alerts);
    assert.deepEqual(alerted.notifications, [{ title: 'New contact waiting', body: 'Question about your tax assessment (demo)' }], 'one notification, naming only the purpose');
    assert.ok(alerted.tones > tonesBefore, 'a sound was played');
    assert.equal(await alice.evaluate(() => localStorage.getItem('veilig.console.sound')), null, 'alerts are opt-in');
    assert.deepEqual(await accessibility(alice), [], 'queue accessibility');
    await screenshot(alice, '03-contact-waiting');
    await checkAxe(alice, 'the queue with a waiting contact');

    // Taken by keyboard.
    await tabTo(alice, `li[data-contact="${call1.contact}"] button.take`);
    await alice.keyboard.press('Enter');
    const panel = alice.locator('section.contact');
    await panel.locator('table.attributes').waitFor();
    assert.equal(await alice.evaluate(() => document.activeElement.id), 'contact-h', 'focus moves to the contact');
    // The taken contact stays in the list (to resume it) but waits no more.
    await alice.locator('#queue-h .count').filter({ hasText: '(0)' }).waitFor();
    assert.match(await card.textContent(), /with you/);
    const rows = await panel.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        id: tr.dataset.attribute,
        label: tr.querySelector('th').textContent,
        value: tr.querySelector('.value').firstChild.textContent,
        link: tr.querySelector('a') && tr.querySelector('a').href,
        issuer: tr.children[2].textContent,
        issued: tr.children[3].textContent,
      })),
    );
    assert.deepEqual(rows.map((r) => [r.id, r.value]).sort(), Object.entries(call1.attributes).sort(), 'exactly the disclosed attributes');
    for (const r of rows) {
      assert.notEqual(r.label, r.id, `attribute ${r.id} has a human label`);
      assert.ok(r.issuer && r.issuer !== '–' && r.issued !== '–', `attribute ${r.id} shows issuer and issuance`);
      if (r.id === call1.linked) assert.equal(r.link, call1.link, 'the BSN links to the case system');
      else assert.equal(r.link, null, `${r.id} has no link`);
    }
    const panelText = await panel.textContent();
    assert.match(panelText, /Verified with Yivi, level substantial/);
    assert.match(panelText, /Attributes shared at.*\d/);
    assert.deepEqual(await accessibility(alice), [], 'open contact accessibility');
    await screenshot(alice, '04-contact-open');
    await checkAxe(alice, 'an open contact');

    // The second agent saw it wait, now sees it gone, and never its attributes.
    await bob.locator(`li[data-contact="${call1.contact}"]`).waitFor({ state: 'detached' });
    await bob.getByText('Nobody is waiting.').waitFor();
    assert.deepEqual(await valuesIn(bob, call1.values), [], 'the second agent never sees the attributes');
    await screenshot(bob, '05-second-agent');
    // The agent of another purpose never saw it at all.
    assert.equal(await carol.locator('li[data-contact]').count(), 0);
    assert.deepEqual(await valuesIn(carol, [call1.caller, ...call1.values]), []);

    // Ending clears the screen and the data.
    await panel.getByRole('button', { name: 'End contact' }).click();
    await panel.getByText('The contact has ended. The attributes have been removed.').waitFor();
    await alice.getByText('Nobody is waiting.').waitFor();
    assert.deepEqual(await valuesIn(alice, [...call1.values, call1.caller]), [], 'nothing is left after the end');
    await screenshot(alice, '06-contact-ended');
    await checkAxe(alice, 'the queue after ending the contact');
    step('ended');
    await answer('ended');

    // A hang-up while the contact is open clears it too.
    step('call2');
    const call2 = await answer('call2');
    await alice.locator(`li[data-contact="${call2.contact}"] button.take`).click();
    await panel.locator('table.attributes').waitFor();
    step('taken2');
    await panel.getByText('The caller hung up.', { exact: false }).waitFor({ timeout: 20_000 });
    assert.equal(await panel.locator('table.attributes').count(), 0);
    assert.deepEqual(await valuesIn(alice, call2.values), [], 'nothing is left after the hang-up');
    await screenshot(alice, '07-hung-up');
    await checkAxe(alice, 'the queue after the caller hung up');

    // The session times out: the next thing the console does signs it out.
    for (const p of [alice, bob, carol]) assert.deepEqual(p.problems, [], 'no errors in the console');
    step('expire');
    await answer('expire');
    // The agent goes to the queue, which needs the server. (The console may
    // already have found out by itself, refreshing the session after the
    // agent's earlier key presses: then the link is gone, which is fine.)
    try {
      await alice.locator('nav a[data-view="queue"]').focus({ timeout: 2000 });
      await alice.keyboard.press('Enter');
    } catch {
      /* signed out already */
    }
    await alice.getByText('Your session has ended.', { exact: false }).waitFor({ timeout: 20_000 });
    assert.equal(await alice.locator('nav').count(), 0);
    await screenshot(alice, '08-session-expired');
    await checkAxe(alice, 'the sign-in page after the session expired');
    const status = await alice.evaluate(async () => (await fetch('/api/v1/agent/contacts')).status);
    assert.equal(status, 401, 'the server agrees the session is over');
    step('done');
  } finally {
    await browser.close();
  }
});

test('the console is Dutch and English', async () => {
  const browser = await launch();
  try {
    const p = await page(browser, { locale: 'en-GB' });
    await p.goto(BASE() + '/agent/');
    await p.getByRole('heading', { name: 'Sign in for agents' }).waitFor();
    await p.getByRole('button', { name: 'Schakel naar Nederlands' }).click();
    await p.getByRole('heading', { name: 'Aanmelden voor medewerkers' }).waitFor();
    assert.equal(await p.locator('html').getAttribute('lang'), 'nl');
    await checkAxe(p, 'the sign-in page in Dutch');
    await p.reload();
    await p.getByRole('heading', { name: 'Aanmelden voor medewerkers' }).waitFor(); // the choice is kept
    assert.deepEqual(p.problems, []);
  } finally {
    await browser.close();
  }
});
