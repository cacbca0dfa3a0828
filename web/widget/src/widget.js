import { YiviCore } from '@privacybydesign/yivi-core';
import { YiviClient, userAgent } from '@privacybydesign/yivi-client';
import YiviWeb from '@privacybydesign/yivi-web';

import { codeGroups, spokenCode } from './code.js';
import { StatusStream, isTerminal } from './stream.js';
import { language, text } from './texts.js';

// Phases of the widget. The Yivi state machine (yivi-core with yivi-client
// and yivi-web) drives them until the disclosure is done; the backend's
// status stream drives them from then on.
//
//   loading → scan (QR, desktop) | app (button, phone) [→ pairing] → disclosing
//           → disclosed (dial the number and code) → matched → answered → ended
//
// with cancelled, expired, failed, and the errors unknownPurpose,
// originRefused, unavailable and lost as other ends.
const yiviPhases = ['loading', 'scan', 'app', 'pairing', 'disclosing'];
const cancellable = [...yiviPhases, 'disclosed'];
const retryable = ['cancelled', 'expired', 'failed', 'unavailable', 'lost'];
const order = ['loading', 'scan', 'app', 'pairing', 'disclosing', 'disclosed', 'matched', 'answered', 'ended'];
// The step shown as current; after the call (ended) every step is done and
// none is current.
const stepOf = { disclosed: 1, matched: 2, answered: 2, ended: 3 };

// yiviClient is what yivi-frontend needs from a start answer: the means'
// client object of a Yivi proof, or the first release's top-level fields.
function yiviClient(r) {
  if (r.means && r.means.type === 'yivi' && r.means.client) return r.means.client;
  return { sessionPtr: r.sessionPtr, frontendRequest: r.frontendRequest };
}

let counter = 0;

export class Widget {
  // options: backend (base URL), purpose, lang, element (inline container:
  // Element or selector; none: a modal dialog), opener (element to return
  // focus to), onState(state, detail).
  constructor(options) {
    this.backend = options.backend.replace(/\/+$/, '');
    this.purpose = options.purpose;
    this.lang = language(options.lang);
    this.onStateCallback = typeof options.onState === 'function' ? options.onState : null;
    this.opener = options.opener || (document.activeElement !== document.body ? document.activeElement : null);
    this.id = `vc-${++counter}`;
    this.phase = null;
    this.session = null; // the backend's answer: sessionId, statusToken, dial, purpose, expiresAt
    this.yivi = null;
    this.stream = null;
    this.closed = false;

    const container = typeof options.element === 'string' ? document.querySelector(options.element) : options.element;
    if (options.element && !container) throw new Error(`VeiligContact: no element matches ${options.element}`);
    this._render(container);
    this._start();
  }

  get state() {
    return this.phase;
  }

  t(key, values) {
    return text(this.lang, key, values);
  }

  // _render builds the widget's frame once; phases only show, hide and fill
  // parts of it, so focus and the live region stay put.
  _render(container) {
    const id = this.id;
    const root = document.createElement('div');
    root.className = 'vc-widget';
    root.lang = this.lang;
    root.innerHTML = `
      <p class="vc-org" hidden><img class="vc-org-logo" alt="" hidden><span class="vc-org-name"></span></p>
      <div class="vc-header">
        <h2 class="vc-title" id="${id}-title" tabindex="-1"></h2>
        <button type="button" class="vc-close"><span aria-hidden="true">×</span></button>
      </div>
      <p class="vc-purpose" id="${id}-purpose" hidden></p>
      <ol class="vc-steps">
        <li data-step="0"></li><li data-step="1"></li><li data-step="2"></li>
      </ol>
      <div class="vc-yivi" id="${id}-yivi"></div>
      <section class="vc-dial" aria-labelledby="${id}-dial-title" hidden>
        <h3 class="vc-dial-title" id="${id}-dial-title" tabindex="-1"></h3>
        <p class="vc-dial-intro"></p>
        <dl class="vc-dial-facts">
          <div><dt class="vc-dial-number-label"></dt><dd><a class="vc-number"></a></dd></div>
          <div><dt class="vc-dial-code-label"></dt><dd class="vc-code"></dd></div>
        </dl>
        <p><a class="vc-call vc-button" hidden></a></p>
        <p class="vc-until"></p>
      </section>
      <p class="vc-status" role="status" aria-live="polite" aria-atomic="true"></p>
      <div class="vc-error" role="alert"></div>
      <div class="vc-actions">
        <button type="button" class="vc-cancel vc-button vc-secondary" hidden></button>
        <button type="button" class="vc-retry vc-button" hidden></button>
      </div>`;
    const $ = (sel) => root.querySelector(sel);
    this.el = {
      root,
      title: $('.vc-title'),
      close: $('.vc-close'),
      purpose: $('.vc-purpose'),
      org: $('.vc-org'),
      orgLogo: $('.vc-org-logo'),
      orgName: $('.vc-org-name'),
      steps: $('.vc-steps'),
      yivi: $('.vc-yivi'),
      dial: $('.vc-dial'),
      dialTitle: $('.vc-dial-title'),
      number: $('.vc-number'),
      code: $('.vc-code'),
      call: $('.vc-call'),
      until: $('.vc-until'),
      status: $('.vc-status'),
      error: $('.vc-error'),
      cancel: $('.vc-cancel'),
      retry: $('.vc-retry'),
    };
    this.el.title.textContent = this.t('title');
    this.el.close.setAttribute('aria-label', this.t('close'));
    this.el.steps.setAttribute('aria-label', this.t('steps'));
    ['stepShare', 'stepCall', 'stepTalk'].forEach((k, i) => {
      // The step's name, and for screen readers whether it is done (the
      // eye sees it in the colour).
      const done = document.createElement('span');
      done.className = 'vc-visually-hidden vc-step-done';
      this.el.steps.children[i].replaceChildren(this.t(k), done);
    });
    this.el.dialTitle.textContent = this.t('dialTitle');
    $('.vc-dial-intro').textContent = this.t('dialIntro');
    $('.vc-dial-number-label').textContent = this.t('dialNumber');
    $('.vc-dial-code-label').textContent = this.t('dialCode');
    this.el.call.textContent = this.t('dialCall');
    this.el.cancel.textContent = this.t('cancel');
    this.el.retry.textContent = this.t('retry');

    this.el.close.addEventListener('click', () => this.close());
    this.el.code.addEventListener('copy', (e) => this._copyCode(e));
    this.el.cancel.addEventListener('click', () => this.cancel());
    this.el.retry.addEventListener('click', () => this._restart());
    // yivi-web's links (cancel, retry, back, show QR) are <a> without href,
    // which a keyboard cannot reach; make them buttons.
    const yiviLinkObserver = new MutationObserver(() => this._fixYiviLinks());
    yiviLinkObserver.observe(this.el.yivi, { childList: true, subtree: true });
    this._observer = yiviLinkObserver;
    this.el.yivi.addEventListener('keydown', (e) => {
      if ((e.key === 'Enter' || e.key === ' ') && e.target.matches('[data-yivi-glue-transition]')) {
        e.preventDefault();
        e.target.click();
      }
    });

    if (container) {
      root.classList.add('vc-inline');
      root.setAttribute('role', 'region');
      root.setAttribute('aria-labelledby', `${id}-title`);
      container.replaceChildren(root);
      this.container = root;
    } else {
      const dialog = document.createElement('dialog');
      dialog.className = 'vc-dialog';
      dialog.setAttribute('aria-labelledby', `${id}-title`);
      dialog.appendChild(root);
      // Escape closes the dialog: handle it as our own close so the session
      // is cancelled and focus goes back.
      dialog.addEventListener('cancel', (e) => {
        e.preventDefault();
        this.close();
      });
      document.body.appendChild(dialog);
      dialog.showModal();
      this.container = dialog;
    }
    this.el.title.focus();
  }

  _fixYiviLinks() {
    this.el.yivi.querySelectorAll('a[data-yivi-glue-transition]:not([role])').forEach((a) => {
      a.setAttribute('role', 'button');
      a.setAttribute('tabindex', '0');
    });
    const canvas = this.el.yivi.querySelector('canvas.yivi-web-qr-canvas:not([role])');
    if (canvas) {
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', this.t('qrLabel'));
    }
  }

  // _start runs one Yivi disclosure through our session API: yivi-client
  // POSTs {purpose} to /api/v1/sessions and maps our answer; result:false
  // because the backend reads the result itself and the page must never see
  // it. Extra mapping keys ride along in the 'loaded' transition's payload.
  _start() {
    this.session = null;
    this._setPhase('loading');
    const widget = this;
    const options = {
      language: this.lang,
      element: `#${this.id}-yivi`,
      session: {
        url: this.backend,
        start: {
          url: (o) => `${o.url}/api/v1/sessions`,
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ purpose: this.purpose }),
          credentials: 'omit',
        },
        // The answer says its means and its channel; this widget proves
        // with Yivi (means.client is what yivi-frontend takes) and shows
        // the phone's next step. The top-level sessionPtr, frontendRequest
        // and dial are the same for backends of the first release.
        mapping: {
          sessionPtr: (r) => yiviClient(r).sessionPtr,
          frontendRequest: (r) => yiviClient(r).frontendRequest,
          sessionToken: () => undefined,
          sessionId: (r) => r.sessionId,
          statusToken: (r) => r.statusToken,
          dial: (r) => (r.next && r.next.type === 'phone' ? r.next.phone : r.dial),
          purposeInfo: (r) => r.purpose,
          expiresAt: (r) => r.expiresAt,
        },
        result: false,
      },
      state: {
        // Our embedded Yivi server keeps SSE off (irmago calls it
        // experimental); polling is what works behind every proxy.
        serverSentEvents: false,
        polling: { endpoint: 'status', interval: 500, startState: 'INITIALIZED' },
      },
    };
    const yivi = new YiviCore(options);
    yivi.use(YiviWeb);
    yivi.use(YiviClient);
    // Our plugin comes last, so yivi-web has drawn each state before we
    // adjust it.
    yivi.use(
      class VeiligPlugin {
        stateChange(ev) {
          if (widget.yivi === yivi) widget._yiviState(ev);
        }
      },
    );
    this.yivi = yivi;
    yivi.start().catch(() => {
      // Failures are shown through stateChange; the promise only says so again.
    });
  }

  _yiviState({ newState, oldState, transition, payload }) {
    switch (newState) {
      case 'CheckingUserAgent':
        if (transition === 'loaded') this._loaded(payload);
        break;
      case 'ShowingQRCode':
        this._fixYiviLinks();
        this._setPhase('scan');
        break;
      case 'ShowingYiviButton':
        this._setPhase('app');
        break;
      case 'EnterPairingCode':
      case 'Pairing':
        this._setPhase('pairing');
        break;
      case 'ContinueOn2ndDevice':
      case 'ContinueInYiviApp':
        this._setPhase('disclosing');
        break;
      case 'Cancelled':
        this._setPhase('cancelled');
        break;
      case 'TimedOut':
        this._setPhase('expired');
        break;
      case 'Error':
        // Stop it at once: yivi-web would restart it when the window
        // regains focus, starting sessions nobody asked for.
        this._stopYivi();
        if (oldState === 'Loading') {
          this._diagnose();
        } else {
          this._setPhase('unavailable');
        }
        break;
      // Success: the backend now judges the proof; its stream says
      // disclosed or failed.
    }
  }

  // _loaded starts following the new session on our status stream.
  _loaded(m) {
    if (this.stream) this.stream.close();
    this.session = {
      sessionId: m.sessionId,
      statusToken: m.statusToken,
      dial: m.dial,
      purpose: m.purposeInfo,
      expiresAt: m.expiresAt,
    };
    this._showPurpose(m.purposeInfo);
    this.stream = new StatusStream({
      backend: this.backend,
      sessionId: m.sessionId,
      statusToken: m.statusToken,
      onState: (s) => this._streamState(s),
      onLost: () => this._setPhase('lost'),
    });
    this._emit('session', { sessionId: m.sessionId, sessionPtr: m.sessionPtr });
  }

  _showPurpose(p) {
    const label = p && p.labels && (p.labels[this.lang] || p.labels.nl);
    if (label) {
      this.el.purpose.textContent = label;
      this.el.purpose.hidden = false;
    }
    this._showOrganisation(p && p.organisation);
  }

  // _showOrganisation names whose purpose it is (a shared platform serves
  // several organisations) and takes on its colour.
  _showOrganisation(o) {
    const name = o && o.names && (o.names[this.lang] || o.names.nl);
    if (!name) return;
    this.el.orgName.textContent = name;
    this.el.org.hidden = false;
    if (o.logo && /^(https?:\/\/|data:image\/)/.test(o.logo)) {
      // A logo the page's CSP refuses (or that fails) leaves the name alone.
      this.el.orgLogo.onerror = () => {
        this.el.orgLogo.hidden = true;
      };
      this.el.orgLogo.src = o.logo;
      this.el.orgLogo.hidden = false;
    }
    if (/^#[0-9a-fA-F]{6}$/.test(o.colour || '')) this.el.root.style.setProperty('--vc-accent', o.colour);
  }

  _streamState(state) {
    switch (state) {
      case 'created':
        return;
      case 'disclosing':
        if (yiviPhases.includes(this.phase)) this._setPhase('disclosing');
        return;
      default:
        this._setPhase(state);
    }
  }

  // _diagnose tells why the start failed. A refused CORS request cannot be
  // read, so the purpose endpoint (readable from any page) says whether the
  // purpose exists and whether this page's origin may use it.
  async _diagnose() {
    let phase = 'unavailable';
    try {
      const r = await fetch(
        `${this.backend}/api/v1/purposes/${encodeURIComponent(this.purpose)}?origin=${encodeURIComponent(location.origin)}`,
        { credentials: 'omit', cache: 'no-store' },
      );
      if (r.status === 404) {
        phase = 'unknownPurpose';
      } else if (r.ok) {
        const p = await r.json();
        if (p.originAllowed === false) phase = 'originRefused';
        this._showPurpose(p);
      }
    } catch {
      // the backend is unreachable
    }
    if (!this.closed) this._setPhase(phase);
  }

  _setPhase(phase) {
    if (this.closed || phase === this.phase) return;
    // The stream and the Yivi state machine both report; never step back
    // (a replayed or late report), except to start over.
    const from = order.indexOf(this.phase);
    const to = order.indexOf(phase);
    if (phase !== 'loading' && from >= 0 && to >= 0 && to < from) return;
    if (isTerminal(this.phase) && phase !== 'loading') return;
    this.phase = phase;
    const el = this.el;
    const hadFocus = el.root.contains(document.activeElement);

    el.root.dataset.phase = phase;
    el.yivi.hidden = !yiviPhases.includes(phase);
    const dialing = phase === 'disclosed';
    el.dial.hidden = !dialing;
    if (dialing) this._fillDial();

    const step = yiviPhases.includes(phase) ? 0 : stepOf[phase];
    [...el.steps.children].forEach((li, i) => {
      if (i === step) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
      const done = step !== undefined && i < step;
      li.classList.toggle('vc-done', done);
      li.querySelector('.vc-step-done').textContent = done ? ` (${this.t('stepDone')})` : '';
    });
    el.steps.hidden = step === undefined;

    const errors = ['unknownPurpose', 'originRefused', 'unavailable', 'lost'];
    const values = { purpose: this.purpose };
    if (errors.includes(phase)) {
      el.error.textContent = this.t(phase, values);
      el.status.textContent = '';
    } else {
      el.error.textContent = '';
      el.status.textContent = this.t(phase, values);
    }
    el.cancel.hidden = !cancellable.includes(phase) || phase === 'loading';
    el.retry.hidden = !retryable.includes(phase);

    if (isTerminal(phase) || errors.includes(phase)) this._stopYivi();
    if (phase === 'ended' || phase === 'expired' || phase === 'cancelled' || phase === 'failed') {
      if (this.stream) this.stream.close();
    }

    // Focus: the dial details are what a person must act on, so they get
    // focus (never taken from elsewhere on the page for an inline widget);
    // otherwise keep focus inside the widget when what had it went away
    // (yivi-web redraws its part).
    const modal = this.container.tagName === 'DIALOG';
    const lost = !el.root.contains(document.activeElement) || !!document.activeElement.closest('[hidden]');
    if (dialing && (hadFocus || modal)) {
      el.dialTitle.focus();
    } else if (hadFocus && lost) {
      (el.retry.hidden ? el.title : el.retry).focus();
    }
    this._emit('state', { state: phase, sessionId: this.session && this.session.sessionId });
  }

  _fillDial() {
    const d = this.session && this.session.dial;
    if (!d) return;
    const el = this.el;
    el.number.textContent = d.number;
    el.number.href = `tel:${d.number}`;
    // The eye gets the code in groups of three and four digits, spaced by
    // the stylesheet (no space characters, so a copy holds the plain
    // digits); screen readers get the digits one by one from hidden text.
    const shown = document.createElement('span');
    shown.className = 'vc-code-groups';
    shown.setAttribute('aria-hidden', 'true');
    for (const g of codeGroups(d.code)) {
      const span = document.createElement('span');
      span.className = 'vc-code-group';
      span.textContent = g;
      shown.append(span);
    }
    const spoken = document.createElement('span');
    spoken.className = 'vc-visually-hidden vc-code-spoken';
    spoken.textContent = spokenCode(d.code);
    el.code.replaceChildren(shown, spoken);
    el.call.href = d.uri;
    const ua = userAgent();
    el.call.hidden = !(ua === 'Android' || ua === 'iOS');
    const until = new Date(this.session.expiresAt);
    el.until.textContent = isNaN(until)
      ? ''
      : this.t('dialUntil', {
          time: until.toLocaleTimeString(this.lang === 'nl' ? 'nl-NL' : 'en-GB', { hour: '2-digit', minute: '2-digit' }),
        });
  }

  // _copyCode puts the plain digits on the clipboard when the selection
  // lies within the code, without the text for screen readers.
  _copyCode(e) {
    const sel = document.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount || !e.clipboardData) return;
    const range = sel.getRangeAt(0);
    if (!this.el.code.contains(range.commonAncestorContainer)) return;
    const part = range.cloneContents();
    part.querySelectorAll('.vc-code-spoken').forEach((n) => n.remove());
    const digits = part.textContent.replace(/\D/g, '');
    if (!digits) return;
    e.clipboardData.setData('text/plain', digits);
    e.preventDefault();
  }

  _stopYivi() {
    const y = this.yivi;
    if (y) y.abort().catch(() => {});
  }

  // cancel ends the session at the backend, which also cancels the Yivi
  // session, so the code can no longer be used. Yivi is stopped only after
  // that: stopping it first would cancel the Yivi session, the backend
  // would follow, and our cancel would come too late.
  async cancel() {
    if (this._cancelling || !cancellable.includes(this.phase)) return;
    this._cancelling = true;
    const s = this.session;
    if (this.stream) this.stream.close(); // we know how this ends
    if (s) {
      try {
        await fetch(`${this.backend}/api/v1/sessions/${encodeURIComponent(s.sessionId)}`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${s.statusToken}` },
          credentials: 'omit',
        });
      } catch {
        // Unreachable: the session expires by itself.
      }
    }
    this._cancelling = false;
    this._stopYivi();
    this._setPhase('cancelled');
  }

  _restart() {
    this._stopYivi();
    if (this.stream) this.stream.close();
    this.stream = null;
    this.el.purpose.hidden = true;
    this.phase = null;
    this._start();
    this.el.title.focus();
  }

  // close removes the widget; a session that can still be cancelled is
  // cancelled first, one that is in a call is left alone.
  close() {
    if (this.closed) return;
    const stop = () => {
      this._stopYivi();
      if (this.stream) this.stream.close();
    };
    const cancelling = cancellable.includes(this.phase) ? this.cancel() : null;
    this._observer.disconnect();
    this._emit('close', {});
    this.closed = true;
    if (cancelling) cancelling.finally(stop);
    else stop();
    if (this.container.tagName === 'DIALOG') this.container.close();
    this.container.remove();
    if (this.opener && this.opener.isConnected && typeof this.opener.focus === 'function') this.opener.focus();
  }

  _emit(name, detail) {
    const payload = { ...detail, purpose: this.purpose };
    this.el.root.dispatchEvent(new CustomEvent(`veiligcontact:${name}`, { bubbles: true, detail: payload }));
    if (name === 'state' && this.onStateCallback) {
      try {
        this.onStateCallback(detail.state, payload);
      } catch (e) {
        console.error('VeiligContact onState:', e);
      }
    }
  }
}
