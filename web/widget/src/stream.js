// StatusStream follows a session's states on the backend's status stream
// (Server-Sent Events). EventSource reconnects by itself after a network
// error, sending Last-Event-ID, so the backend replays what was missed (on
// any replica). It gives up only when the backend answers with an error
// (the session is gone, or the backend is down); then the stream asks for
// the session's state a bounded number of times and reopens from the last
// event it saw.

const terminal = ['ended', 'cancelled', 'expired', 'failed'];

export function isTerminal(state) {
  return terminal.includes(state);
}

const maxRecoveries = 8;

export class StatusStream {
  // onState(state) gets each new state; onLost() is called once when the
  // session cannot be followed any more.
  constructor({ backend, sessionId, statusToken, onState, onLost }) {
    this._base = `${backend}/api/v1/sessions/${encodeURIComponent(sessionId)}`;
    this._token = statusToken;
    this._onState = onState;
    this._onLost = onLost;
    this._lastId = '';
    this._recoveries = 0;
    this._closed = false;
    this._timer = null;
    this._open();
  }

  close() {
    this._closed = true;
    clearTimeout(this._timer);
    if (this._es) this._es.close();
  }

  _open() {
    // EventSource cannot send headers, so the token goes in the query; the
    // backend accepts it there for this reason only.
    let url = `${this._base}/events?token=${encodeURIComponent(this._token)}`;
    if (this._lastId) url += `&lastEventId=${encodeURIComponent(this._lastId)}`;
    const es = new EventSource(url);
    this._es = es;
    es.onmessage = (e) => {
      let ev;
      try {
        ev = JSON.parse(e.data);
      } catch {
        return;
      }
      if (e.lastEventId) this._lastId = e.lastEventId;
      this._recoveries = 0;
      if (typeof ev.type !== 'string') return;
      if (isTerminal(ev.type)) this.close(); // the backend ends the stream; do not reconnect
      this._onState(ev.type);
    };
    es.onerror = () => {
      if (this._closed || es.readyState !== EventSource.CLOSED) return; // reconnecting by itself
      this._recover();
    };
  }

  // _recover asks the session's state and reopens the stream, with growing
  // pauses, at most maxRecoveries times in a row.
  _recover() {
    if (this._closed) return;
    if (this._recoveries >= maxRecoveries) {
      this.close();
      this._onLost();
      return;
    }
    const delay = Math.min(30000, 1000 * 2 ** this._recoveries);
    this._recoveries++;
    this._timer = setTimeout(async () => {
      if (this._closed) return;
      try {
        const r = await fetch(this._base, {
          headers: { Authorization: `Bearer ${this._token}` },
          credentials: 'omit',
          cache: 'no-store',
        });
        if (r.status === 404 || r.status === 401) {
          this.close();
          this._onLost();
          return;
        }
        if (r.ok) {
          const s = await r.json();
          if (isTerminal(s.state)) {
            this.close();
            this._onState(s.state);
            return;
          }
        }
      } catch {
        // unreachable for now: try again below
      }
      if (!this._closed) this._open();
    }, delay);
  }
}
