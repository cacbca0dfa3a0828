// The whole demo in one browser, as a newcomer does it after `make run`:
// the municipality site's widget starts a session, the demo wallet (the real
// irmago client on the server) discloses it, the demo phone calls with the
// code through the signed telephony API, and the agent gets the verified
// contact. In Dutch and in English, and at the demo's second municipality
// (an organisation of its own): there its own agent takes the contact and
// the first municipality's agent cannot see or open it, nor the other way.
//
// Run by TestDemoInBrowser (cmd/veilig/demo_browser_test.go), which sets
// BASE_URL (veilig's public listener, demo mode) and an agent account.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { open, watch, screenshot, contrast, env, widgetText, checkAxe, checkIcon, checkCode, phoneText } from './browser.mjs';

const base = env('BASE_URL');
const voorbeeldstad = { user: env('AGENT_USERNAME'), password: env('AGENT_PASSWORD') };
const anderdorp = { user: env('OTHER_AGENT_USERNAME'), password: env('OTHER_AGENT_PASSWORD') };

let browser;
before(async () => {
  browser = await open();
});
after(async () => {
  if (browser) await browser.close();
});

// agentApi calls the agent API from a page of veilig's origin, the way the
// agent console does: cookie session, CSRF token on every POST.
async function agentApi(page, steps, agent) {
  return page.evaluate(
    async ({ user, password, steps }) => {
      const call = async (method, path, body, csrf) => {
        const headers = {};
        if (body) headers['Content-Type'] = 'application/json';
        if (csrf) headers['X-CSRF-Token'] = csrf;
        const r = await fetch(path, { method, headers, body: body && JSON.stringify(body), credentials: 'same-origin' });
        const text = await r.text();
        return { status: r.status, body: text ? JSON.parse(text) : null };
      };
      const login = await call('POST', '/api/v1/agent/login', { username: user, password });
      if (login.status !== 200) return { error: `login: ${login.status}` };
      const csrf = login.body.csrfToken;
      const out = {};
      for (const s of steps) out[s.name] = await call(s.method, s.path, null, s.method === 'POST' ? csrf : null);
      return out;
    },
    { user: agent.user, password: agent.password, steps },
  );
}

const flows = [
  { lang: 'nl', query: '', name: 'Gemeente Voorbeeldstad (demo)', agent: voorbeeldstad, other: anderdorp, tag: '' },
  { lang: 'en', query: '', name: 'Municipality of Voorbeeldstad (demo)', agent: voorbeeldstad, other: anderdorp, tag: '' },
  { lang: 'nl', query: '&gemeente=anderdorp', name: 'Gemeente Anderdorp (demo)', agent: anderdorp, other: voorbeeldstad, tag: '-anderdorp' },
];

for (const { lang, query, name, agent: agentAccount, other, tag } of flows) {
  test(`the whole demo flow (${lang}${tag})`, { timeout: 180000 }, async () => {
    const T = widgetText[lang];
    const problems = [];
    const started = Date.now();

    // 1. The municipality site.
    const site = await browser.context.newPage();
    watch(site, problems);
    await site.addInitScript(() => {
      document.addEventListener('veiligcontact:session', (e) => {
        window.__session = e.detail;
      });
    });
    await site.goto(`${base}/demo?lang=${lang}${query}`);
    assert.equal(await site.locator('html').getAttribute('lang'), lang);
    await site.locator('#site-name', { hasText: name }).waitFor();
    await screenshot(site, `demo-site-${lang}${tag}`);
    await checkAxe(site, `the demo site (${lang})`);
    await checkIcon(site);

    const callButton = site.locator('button[data-veilig-contact]');
    await callButton.click();
    const widget = site.locator('.vc-widget');
    const qr = widget.locator('canvas.yivi-web-qr-canvas');
    await qr.waitFor({ state: 'visible' });
    assert.equal(await qr.getAttribute('aria-label'), T.qrLabel);
    assert.equal(await widget.locator('.vc-status').textContent(), T.scan);
    assert.equal(await widget.getAttribute('lang'), lang);
    assert.ok((await contrast(widget.locator('.vc-status'))) >= 4.5, 'status text contrast');
    assert.ok((await contrast(widget.locator('.vc-title'))) >= 4.5, 'title contrast');
    assert.ok((await contrast(widget.locator('.vc-cancel'))) >= 4.5, 'cancel button contrast');
    // The widget names the organisation whose purpose it is, in its colour.
    assert.equal(await widget.locator('.vc-org-name').textContent(), name);
    assert.ok(await widget.locator('.vc-org-logo').isVisible(), 'the organisation logo');
    await screenshot(site, `widget-qr-${lang}${tag}`);
    await checkAxe(site, `the widget showing the QR code (${lang})`);
    const session = await site.evaluate(() => window.__session);
    assert.ok(session && session.sessionId, 'the widget announced its session');

    // 2. The demo wallet, playing the Yivi app, gets the QR code's session.
    const toWallet = site.locator('#to-wallet');
    await toWallet.waitFor({ state: 'visible' });
    const [wallet] = await Promise.all([browser.context.waitForEvent('page'), toWallet.click()]);
    watch(wallet, problems);
    await wallet.waitForLoadState();
    await wallet.locator('.demo-only').waitFor();
    assert.match(await wallet.locator('#session').inputValue(), /"irmaqr":"disclosing"/);
    await screenshot(wallet, `wallet-${lang}${tag}`);
    await checkAxe(wallet, `the demo wallet (${lang})`);
    await checkIcon(wallet);
    await wallet.locator('#disclose-form button[type="submit"]').click();
    await wallet.locator('#result').waitFor({ state: 'visible', timeout: 45000 });
    const tel = (await wallet.locator('#tel').textContent()).trim();
    const m = tel.match(/^tel:(\+\d+),(\d+)$/);
    assert.ok(m, `the Yivi app would open ${tel}`);
    const [, number, code] = m;
    assert.ok((await wallet.locator('#cards .card').count()) >= 1, 'the wallet shows its cards');
    // The share button does not touch the result below it.
    const shareBox = await wallet.locator('#disclose-form button[type="submit"]').boundingBox();
    const resultBox = await wallet.locator('#result').boundingBox();
    assert.ok(resultBox.y - (shareBox.y + shareBox.height) >= 16, `${resultBox.y - (shareBox.y + shareBox.height)} px between the share button and the result`);
    await screenshot(wallet, `wallet-disclosed-${lang}${tag}`);
    await checkAxe(wallet, `the demo wallet after sharing (${lang})`);

    // 3. The widget now shows what to dial, for phones that cannot open tel:.
    const dial = widget.locator('.vc-dial');
    await dial.waitFor({ state: 'visible' });
    assert.equal(await widget.locator('.vc-status').textContent(), T.disclosed);
    assert.equal(await widget.locator('.vc-dial-title').textContent(), T.dialTitle);
    assert.equal(await widget.locator('.vc-number').textContent(), number);
    await checkCode(widget, code);
    // Step 2, calling, is the current one.
    assert.deepEqual(await widget.locator('.vc-steps li').evaluateAll((lis) => lis.map((li) => li.getAttribute('aria-current'))), [null, 'step', null]);
    assert.ok(await widget.locator('canvas.yivi-web-qr-canvas').isHidden(), 'the QR code is gone');
    await screenshot(site, `widget-dial-${lang}${tag}`);
    await checkAxe(site, `the widget showing the number and code (${lang})`);

    // 4. The demo phone dials the number and types the code.
    await wallet.locator('#to-phone').click();
    await wallet.waitForURL(/\/demo\/phone/);
    const phone = wallet;
    assert.equal(await phone.locator('#dial').inputValue(), tel);
    await checkAxe(phone, `the demo phone (${lang})`);
    await checkIcon(phone);
    await phone.locator('#call-form button[type="submit"]').click();
    await phone.locator('#in-call').waitFor({ state: 'visible' });
    assert.match(await phone.locator('#in-call-text').textContent(), new RegExp(session.sessionId));
    await phone.locator('#agent').waitFor({ state: 'visible' });
    const consoleLink = phone.locator('#to-console');
    if (await consoleLink.count()) {
      assert.equal(await consoleLink.getAttribute('href'), '/agent/');
    } else {
      assert.match(await phone.locator('#agent pre').textContent(), new RegExp(`/api/v1/agent/contacts/${session.sessionId}/open`));
    }
    await screenshot(phone, `phone-connected-${lang}${tag}`);
    await checkAxe(phone, `the demo phone in the call (${lang})`);

    await site.locator('.vc-status', { hasText: T.matched }).waitFor();
    await screenshot(site, `widget-connected-${lang}${tag}`);
    await checkAxe(site, `the widget, connected (${lang})`);

    // 5. The agent sees the verified contact, opens it, and ends it.
    const agent = await browser.context.newPage();
    watch(agent, problems);
    await agent.goto(`${base}/demo/phone?lang=${lang}`);
    const id = session.sessionId;
    // The other municipality's agent: not in its list, and opening it is
    // answered as for a contact that does not exist.
    const elsewhere = await agentApi(
      agent,
      [
        { name: 'list', method: 'GET', path: '/api/v1/agent/contacts' },
        { name: 'open', method: 'POST', path: `/api/v1/agent/contacts/${id}/open` },
        { name: 'none', method: 'POST', path: '/api/v1/agent/contacts/aaaaaaaaaaaaaaaaaaaaaaaaaa/open' },
      ],
      other,
    );
    assert.equal(elsewhere.list.status, 200, JSON.stringify(elsewhere));
    assert.ok(!elsewhere.list.body.contacts.some((c) => c.id === id), "another organisation's agent lists the contact");
    assert.equal(elsewhere.open.status, 404, JSON.stringify(elsewhere.open));
    assert.deepEqual(elsewhere.open.body, elsewhere.none.body, 'another organisation gets the answer of a missing contact');
    const listed = await agentApi(agent, [{ name: 'list', method: 'GET', path: '/api/v1/agent/contacts' }], agentAccount);
    assert.equal(listed.list.status, 200, JSON.stringify(listed));
    const waiting = listed.list.body.contacts.find((c) => c.id === id);
    assert.ok(waiting, 'the contact waits for an agent');
    assert.equal(waiting.state, 'matched');
    assert.equal(waiting.attributes ?? null, null, 'no attributes before an agent opens it');

    const opened = await agentApi(agent, [{ name: 'open', method: 'POST', path: `/api/v1/agent/contacts/${id}/open` }], agentAccount);
    assert.equal(opened.open.status, 200, JSON.stringify(opened));
    const attrs = Object.fromEntries(opened.open.body.attributes.map((a) => [a.id.split('.').pop(), a.value]));
    assert.deepEqual(attrs, { bsn: '999999990', fullname: 'Jan de Vries', dateofbirth: '1980-04-01' });
    await site.locator('.vc-status', { hasText: T.answered }).waitFor();
    await phone.locator('#status', { hasText: phoneText[lang].answered }).waitFor();
    assert.deepEqual(await widget.locator('.vc-steps li').evaluateAll((lis) => lis.map((li) => li.getAttribute('aria-current'))), [null, null, 'step']);
    await screenshot(site, `widget-answered-${lang}${tag}`);
    await checkAxe(site, `the widget, talking (${lang})`);

    const ended = await agentApi(agent, [{ name: 'end', method: 'POST', path: `/api/v1/agent/contacts/${id}/end` }], agentAccount);
    assert.equal(ended.end.status, 204, JSON.stringify(ended));
    await site.locator('.vc-status', { hasText: T.ended }).waitFor();
    assert.ok(await widget.locator('.vc-dial').isHidden(), 'the code is gone from the page');
    assert.ok(await widget.locator('.vc-cancel').isHidden(), 'nothing left to cancel');
    // After the call no step is current: all three are done, for the eye
    // and for screen readers.
    const steps = await widget.locator('.vc-steps li').evaluateAll((lis) =>
      lis.map((li) => ({ current: li.getAttribute('aria-current'), done: li.classList.contains('vc-done'), said: li.querySelector('.vc-step-done').textContent })),
    );
    assert.deepEqual(steps.map((x) => [x.current, x.done]), [[null, true], [null, true], [null, true]], JSON.stringify(steps));
    for (const x of steps) assert.equal(x.said, ` (${T.stepDone})`);
    await screenshot(site, `widget-ended-${lang}${tag}`);
    await checkAxe(site, `the widget after the call (${lang})`);

    // The demo phone hears the call end too.
    await phone.locator('#status', { hasText: phoneText[lang].ended }).waitFor();
    assert.ok(await phone.locator('#in-call').isHidden(), 'the phone is no longer in the call');
    await screenshot(phone, `phone-ended-${lang}${tag}`);
    await checkAxe(phone, `the demo phone after the agent ended the call (${lang})`);

    console.log(`demo flow (${lang}) took ${((Date.now() - started) / 1000).toFixed(1)} s of browser time`);
    assert.deepEqual(problems, []);
    await Promise.all([site.close(), phone.close(), agent.close()]);
  });
}
