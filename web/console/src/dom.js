// A few lines instead of a framework: elements are built with h() and
// changed with textContent and properties, never from markup strings, so
// no value (an attribute, a name in the audit log) can become markup. The
// page's Content-Security-Policy requires Trusted Types with no policy,
// which makes any markup sink fail loudly.

// h(tag, props, ...children) makes an element. props: class, text, on<Event>
// handlers, properties (value, checked, disabled, hidden, htmlFor, ...) and
// otherwise attributes; children: nodes, strings, or arrays of them.
export function h(tag, props, ...children) {
  const el = tag === 'svg' || tag === 'path' ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k in PROPS) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

const PROPS = { value: 1, checked: 1, disabled: 1, hidden: 1, htmlFor: 1, selected: 1, tabIndex: 1, open: 1 };

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// uid gives form controls ids for their labels.
let next = 0;
export const uid = (p) => `${p}-${++next}`;

// field is a labelled form control with an optional hint.
export function field(label, control, hint) {
  control.id ||= uid('f');
  const hintEl = hint ? h('p', { class: 'hint', id: uid('hint'), text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { htmlFor: control.id, text: label }), control, hintEl);
}
