// The agent API: same origin, the session in an HttpOnly cookie, the CSRF
// token in a header on every state-changing request. Requests the console
// makes by itself say so (background), so they do not keep an unattended
// console signed in.

export class APIError extends Error {
  constructor(status, code, message) {
    super(message || code || String(status));
    this.status = status;
    this.code = code || '';
  }
}

let csrf = '';
let onUnauthorized = () => {};

export function setCSRF(token) {
  csrf = token || '';
}

// whenSignedOut sets what happens when the server says the session is gone.
export function whenSignedOut(fn) {
  onUnauthorized = fn;
}

export async function api(method, path, { body, background = false, quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (background) headers['X-Veilig-Background'] = '1';
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch {
    throw new APIError(0, 'network', '');
  }
  if (resp.status === 204) return null;
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    const err = new APIError(resp.status, e.code, e.message);
    if (resp.status === 401 && !quiet401) onUnauthorized(err);
    throw err;
  }
  return data;
}

// Events follows the agent event stream. EventSource reconnects by itself
// after a network error, sending Last-Event-ID, and any replica replays
// what was missed. When the server refuses the stream (the session ended)
// EventSource gives up; then onClosed decides what next.
export class Events {
  constructor(onEvent, onClosed) {
    this.onEvent = onEvent;
    this.onClosed = onClosed;
    this.lastSeq = 0;
    this.es = null;
    this.retry = null;
  }

  open() {
    this.close();
    const url = '/api/v1/agent/events' + (this.lastSeq ? '?lastEventId=' + this.lastSeq : '');
    const es = new EventSource(url);
    this.es = es;
    es.onopen = () => this.onEvent({ type: 'stream-open' });
    es.onmessage = (m) => {
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch {
        return;
      }
      if (ev.seq > this.lastSeq) this.lastSeq = ev.seq;
      this.onEvent(ev);
    };
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED && this.es === es) {
        this.es = null;
        this.onClosed();
      }
    };
  }

  // reopen tries again after delay ms (after the stream was refused for a
  // reason other than the session).
  reopen(delay) {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.open(), delay);
  }

  close() {
    clearTimeout(this.retry);
    if (this.es) this.es.close();
    this.es = null;
  }
}
