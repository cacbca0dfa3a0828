// Veilig Contact widget: verified calling with Yivi on any page.
//
//   <script src="https://contact.example.nl/widget/v1/veilig-contact.js" defer></script>
//   <button type="button" data-veilig-contact data-purpose="belastingen">Bel ons</button>
//
// or from script: VeiligContact.start({backend, purpose, lang, element}).
import { Widget } from './widget.js';

export const version = __VERSION__;

// Where this script was loaded from: the backend serves it at
// <backend>/widget/v1/veilig-contact.js, so that is the default backend, and
// the stylesheet lies next to it.
const script = typeof document !== 'undefined' ? document.currentScript : null;
const scriptURL = script && script.src ? new URL(script.src, location.href) : null;
const defaultBackend = scriptURL && /\/widget\/v\d+\/[^/]*$/.test(scriptURL.pathname)
  ? scriptURL.href.slice(0, scriptURL.href.lastIndexOf('/widget/'))
  : '';

// The stylesheet is added once, when the script loads, so it is there by the
// time someone clicks. A page that links it itself (or sets
// data-veilig-css="none" on the script) is left alone.
function addStylesheet() {
  if (!scriptURL || (script && script.dataset.veiligCss === 'none')) return;
  if (document.querySelector('link[href*="veilig-contact"][rel="stylesheet"]')) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = scriptURL.href.replace(/\.js(\?.*)?$/, '.css$1');
  if (script.integrity || script.crossOrigin) link.crossOrigin = 'anonymous';
  document.head.appendChild(link);
}

let modal = null; // the one modal widget open at a time
const inline = new WeakMap(); // container element → its widget

// start opens the widget for a purpose and returns a controller:
// {state, sessionId, cancel(), close()}.
export function start(options) {
  const o = options || {};
  const backend = o.backend || defaultBackend;
  if (!backend) throw new Error('VeiligContact.start: backend is required (the base URL of Veilig Contact)');
  if (!o.purpose) throw new Error('VeiligContact.start: purpose is required');
  const url = new URL(backend, location.href);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('VeiligContact.start: backend must be an http(s) URL');

  const container = typeof o.element === 'string' ? document.querySelector(o.element) : o.element;
  const previous = container ? inline.get(container) : modal;
  if (previous && !previous.closed) previous.close();

  const w = new Widget({ ...o, backend: url.href.replace(/\/+$/, '') });
  if (container) inline.set(container, w);
  else modal = w;
  return {
    get state() {
      return w.state;
    },
    get sessionId() {
      return w.session ? w.session.sessionId : null;
    },
    cancel: () => w.cancel(),
    close: () => w.close(),
  };
}

// Buttons with data-veilig-contact start the widget when clicked; one
// listener on the document serves buttons added later too.
function onClick(e) {
  const btn = e.target instanceof Element ? e.target.closest('[data-veilig-contact]') : null;
  if (!btn) return;
  e.preventDefault();
  const d = btn.dataset;
  try {
    start({
      backend: d.backend || undefined,
      purpose: d.purpose,
      lang: d.lang || undefined,
      element: d.element || undefined,
      opener: btn,
    });
  } catch (err) {
    console.error(err);
  }
}

if (typeof document !== 'undefined') {
  addStylesheet();
  document.addEventListener('click', onClick);
}
