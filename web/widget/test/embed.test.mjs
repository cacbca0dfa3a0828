// The widget embedded on another site (another origin on 127.0.0.1),
// behind the strict Content-Security-Policy that docs/widget.md gives:
// refusals are clear messages, a site that is allowed works end to end
// (CORS on our API and on the Yivi server), the modal dialog manages focus,
// and cancelling ends the session at the backend.
//
// Run by TestWidgetInBrowser (cmd/veilig/widget_browser_test.go), which sets
// BASE_URL (veilig) and SITE_URL (the embedding site, serving /embed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { open, watch, screenshot, contrast, env, widgetText, checkAxe, checkCode } from './browser.mjs';

const base = env('BASE_URL');
const site = env('SITE_URL');

let browser;
before(async () => {
  browser = await open();
});
after(async () => {
  if (browser) await browser.close();
});

async function embed(query) {
  const page = await browser.context.newPage();
  const problems = [];
  watch(page, problems);
  await page.addInitScript(() => {
    window.__states = [];
    document.addEventListener('veiligcontact:session', (e) => {
      window.__session = e.detail;
    });
    document.addEventListener('veiligcontact:state', (e) => window.__states.push(e.detail.state));
  });
  await page.goto(`${site}/embed?${new URLSearchParams(query)}`);
  return { page, problems };
}

// discloseWithDemoWallet plays the person scanning the QR code with the
// demo wallet (the real irmago client in veilig).
async function discloseWithDemoWallet(sessionPtr) {
  const r = await fetch(`${base}/demo/api/wallet/disclose`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ session: JSON.stringify(sessionPtr) }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body.disclosed;
}

for (const lang of ['nl', 'en']) {
  const T = widgetText[lang];

  test(`a site that may not use the purpose gets a clear message (${lang})`, { timeout: 120000 }, async () => {
    const { page, problems } = await embed({ purpose: 'demo', lang, mode: 'inline' });
    await page.locator('#call').click();
    const error = page.locator('.vc-widget .vc-error');
    await error.waitFor({ state: 'visible' });
    assert.equal(await error.textContent(), T.originRefused.replace('{purpose}', 'demo'));
    assert.equal(await error.getAttribute('role'), 'alert');
    assert.ok(await page.locator('.vc-retry').isHidden(), 'no retry for a refusal');
    assert.ok(await page.locator('.vc-yivi').isHidden());
    assert.ok((await contrast(error)) >= 4.5, 'error text contrast');
    await screenshot(page, `widget-origin-refused-${lang}`);
    await checkAxe(page, `the widget refusing another site (${lang})`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`an unknown purpose gets a clear message (${lang})`, { timeout: 120000 }, async () => {
    const { page, problems } = await embed({ purpose: 'nope', lang, mode: 'inline' });
    await page.locator('#call').click();
    const error = page.locator('.vc-widget .vc-error');
    await error.waitFor({ state: 'visible' });
    assert.equal(await error.textContent(), T.unknownPurpose.replace('{purpose}', 'nope'));
    await screenshot(page, `widget-unknown-purpose-${lang}`);
    await checkAxe(page, `the widget with an unknown purpose (${lang})`);
    // Closing puts focus back on the button.
    await page.locator('.vc-close').click();
    assert.equal(await page.locator('.vc-widget').count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'call');
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('an allowed site: modal dialog, disclosure across origins, Escape cancels', { timeout: 120000 }, async () => {
  const T = widgetText.nl;
  const { page, problems } = await embed({ purpose: 'elsewhere', lang: 'nl', mode: 'api' });
  // The JavaScript API, in a modal dialog.
  await page.locator('#api').click();
  const dialog = page.locator('dialog.vc-dialog');
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await dialog.evaluate((d) => d.open && d.matches(':modal')), true);
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('vc-title')), true, 'focus on the title');
  await page.locator('canvas.yivi-web-qr-canvas').waitFor({ state: 'visible' });
  await screenshot(page, 'widget-modal-qr');
  await checkAxe(page, 'the modal widget showing the QR code');
  const session = await page.evaluate(() => window.__session);

  const disclosed = await discloseWithDemoWallet(session.sessionPtr);
  await page.locator('.vc-dial').waitFor({ state: 'visible' });
  await checkCode(page.locator('.vc-widget'), disclosed.code);
  assert.equal(await page.locator('.vc-status').textContent(), T.disclosed);
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('vc-dial-title')), true, 'focus on what to dial');
  assert.ok((await contrast(page.locator('.vc-code'))) >= 4.5, 'code contrast');
  assert.ok((await contrast(page.locator('.vc-number'))) >= 4.5, 'number contrast');
  await screenshot(page, 'widget-modal-dial');
  await checkAxe(page, 'the modal widget showing the number and code');
  // Yivi's status came through the Yivi server's CORS, ours through the
  // API's: nothing failed on the way.
  const states = await page.evaluate(() => window.__states);
  assert.ok(!states.includes('unavailable') && !states.includes('lost'), `states ${states}`);
  assert.ok(states.includes('disclosed'), `states ${states}`);

  // Escape closes the dialog and cancels the session at the backend.
  const cancelled = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().startsWith(`${base}/api/v1/sessions/${session.sessionId}`));
  await page.keyboard.press('Escape');
  assert.equal((await cancelled).status(), 204);
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'api', 'focus back on the button');
  assert.deepEqual(problems, []);
  await page.close();
});

test('an allowed site: cancel, then start again', { timeout: 120000 }, async () => {
  const T = widgetText.en;
  const { page, problems } = await embed({ purpose: 'elsewhere', lang: 'en', mode: 'inline' });
  await page.locator('#call').click();
  await page.locator('canvas.yivi-web-qr-canvas').waitFor({ state: 'visible' });
  const first = await page.evaluate(() => window.__session.sessionId);
  const deleted = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes(first));
  await page.getByRole('button', { name: T.cancel }).click();
  assert.equal((await deleted).status(), 204);
  await page.locator('.vc-status', { hasText: T.cancelled }).waitFor();
  assert.ok(await page.locator('.vc-yivi').isHidden());
  await screenshot(page, 'widget-cancelled-en');
  await checkAxe(page, 'the widget after cancelling');

  // A cancelled session's pointer is useless to a wallet now.
  const ptr = await page.evaluate(() => window.__session.sessionPtr);
  const r = await fetch(`${base}/demo/api/wallet/disclose`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ session: JSON.stringify(ptr) }),
  });
  assert.equal(r.status, 409);

  await page.locator('.vc-retry').click();
  await page.locator('canvas.yivi-web-qr-canvas').waitFor({ state: 'visible' });
  const second = await page.evaluate(() => window.__session.sessionId);
  assert.notEqual(second, first, 'starting again starts a new session');
  // Keyboard: yivi-web's links are reachable as buttons.
  const links = await page.locator('.vc-yivi a[data-yivi-glue-transition]').evaluateAll((as) => as.map((a) => [a.getAttribute('role'), a.tabIndex]));
  for (const [role, tab] of links) assert.deepEqual([role, tab], ['button', 0]);
  assert.deepEqual(problems, []);
  await page.close();
});

test('on a phone: the Yivi app button, then a call button', { timeout: 120000 }, async () => {
  const T = widgetText.en;
  const phone = await open({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
  });
  try {
    const page = await phone.context.newPage();
    const problems = [];
    watch(page, problems);
    await page.addInitScript(() => {
      document.addEventListener('veiligcontact:session', (e) => {
        window.__session = e.detail;
      });
    });
    await page.goto(`${site}/embed?${new URLSearchParams({ purpose: 'elsewhere', lang: 'en', mode: 'api' })}`);
    await page.locator('#api').click();
    // yivi-web shows the button that opens the Yivi app, not a QR code.
    const appLink = page.locator('.vc-yivi a.yivi-web-button-link');
    await appLink.waitFor({ state: 'visible' });
    assert.match(await appLink.getAttribute('href'), /^intent:\/\/qr\/json\//);
    assert.equal(await page.locator('canvas.yivi-web-qr-canvas').count(), 0);
    await screenshot(page, 'widget-phone-app-en');
    await checkAxe(page, 'the widget on a phone, with the Yivi app button');

    const session = await page.evaluate(() => window.__session);
    const disclosed = await discloseWithDemoWallet(session.sessionPtr);
    const call = page.locator('.vc-call');
    await call.waitFor({ state: 'visible' });
    assert.equal(await call.getAttribute('href'), disclosed.clientReturnUrl);
    assert.equal(await call.textContent(), 'Call now');
    assert.equal(await page.locator('.vc-status').textContent(), T.disclosed);
    await screenshot(page, 'widget-phone-call-en');
    await checkAxe(page, 'the widget on a phone, with the call button');
    assert.deepEqual(problems, []);
  } finally {
    await phone.close();
  }
});
