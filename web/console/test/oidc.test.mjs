// Single sign-on in headless Chromium (driven by TestConsoleOIDC in
// cmd/veilig): the console's button leads to a real OpenID provider's own
// login page, and back to the console signed in; a person the provider
// knows but who has no console account is told so and stays signed out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessibility, BASE, checkAxe, env, launch, page, screenshot, step } from './helpers.mjs';

async function providerLogin(p, username, password) {
  await p.getByRole('link', { name: 'Sign in with Test IdP' }).click();
  await p.waitForURL(env('IDP_URL') + '/login/**');
  await p.fill('#username', username);
  await p.fill('#password', password);
  await screenshot(p, 'oidc-01-provider');
  await p.getByRole('button', { name: 'Login' }).click();
}

test('sign in with single sign-on', async () => {
  const browser = await launch();
  try {
    const p = await page(browser);
    await p.goto(BASE() + '/agent/');
    await providerLogin(p, 'olga.sso', 'olga-idp-password');
    await p.waitForURL(BASE() + '/agent/');
    await p.locator('nav a[data-view="supervisor"]').waitFor(); // olga is a supervisor
    assert.match(await p.locator('.who .user').textContent(), /Olga via SSO/);
    assert.deepEqual(await accessibility(p), []);
    await screenshot(p, 'oidc-02-signed-in');
    await checkAxe(p, 'the queue after single sign-on');
    await p.locator('nav a[data-view="supervisor"]').click();
    await p.getByRole('heading', { name: 'Overview' }).waitFor();
    await p.locator('.tile[data-tile="online"] .tile-value').filter({ hasText: /[1-9]/ }).waitFor();
    await screenshot(p, 'oidc-03-supervisor');
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByText('You have signed out.').waitFor();
    assert.deepEqual(p.problems, []);
  } finally {
    await browser.close();
  }
});

test('a person without a console account is told so', async () => {
  const browser = await launch();
  try {
    const p = await page(browser);
    await p.goto(BASE() + '/agent/');
    await providerLogin(p, 'nina.sso', 'nina-idp-password');
    await p.getByText('Veilig Contact has no active account for you', { exact: false }).waitFor();
    assert.equal(new URL(p.url()).search, '', 'the error code is taken out of the address');
    assert.equal(await p.locator('nav').count(), 0);
    await screenshot(p, 'oidc-04-no-account');
    await checkAxe(p, 'the sign-in page telling a person without an account');
    // Signing in again works (the provider session is still there).
    await p.getByRole('link', { name: 'Sign in with Test IdP' }).waitFor();
  } finally {
    await browser.close();
  }
  step('done');
});
