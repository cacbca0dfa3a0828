// The session timeout, shown to the agent. The server ends a session after
// the idle timeout without activity, and always at its absolute end. The
// console counts both down against the server's clock, tells the agent
// two minutes before, and refreshes the idle timer only when the agent
// really did something (a key or a click) since the last refresh, so an
// unattended console does time out. At the end it signs out by itself and
// forgets everything it showed.
import { api } from './api.js';
import { fmtDuration, t } from './i18n.js';
import { app, serverNow } from './state.js';

const WARN = 2 * 60 * 1000; // warn this long before the end
const TOUCH_EVERY = 60 * 1000; // refresh the idle timer at most this often

let idleEnd = 0;
let absEnd = 0;
let lastActivity = 0;
let lastTouch = 0;
let timer = null;
let onExpired = () => {};
let onTick = () => {};
let touching = false;

// learn takes what /me (or sign-in) said about the session.
export function learn(me) {
  app.me = me;
  app.offset = Date.parse(me.now) - Date.now();
  idleEnd = Date.parse(me.idleExpiresAt);
  absEnd = Date.parse(me.expiresAt);
  lastTouch = Date.now();
}

function activity() {
  lastActivity = Date.now();
}

// start runs the countdown: tick(left, warn) every second; expired() once.
export function start(tick, expired) {
  stop();
  onTick = tick;
  onExpired = expired;
  lastActivity = 0;
  document.addEventListener('keydown', activity, { capture: true });
  document.addEventListener('pointerdown', activity, { capture: true });
  timer = setInterval(step, 1000);
  step();
}

export function stop() {
  clearInterval(timer);
  timer = null;
  document.removeEventListener('keydown', activity, { capture: true });
  document.removeEventListener('pointerdown', activity, { capture: true });
}

// left is how long the session has, in ms.
export const left = () => Math.min(idleEnd, absEnd) - serverNow();

// idleLimited says whether the idle timeout (not the absolute end) comes first.
export const idleLimited = () => idleEnd < absEnd;

function step() {
  const l = left();
  if (l <= 0) {
    stop();
    onExpired();
    return;
  }
  if (lastActivity > lastTouch && Date.now() - lastTouch >= TOUCH_EVERY) touch();
  onTick(l, l <= WARN);
}

// touch tells the server the agent is here (the "stay signed in" button,
// or activity noticed).
export async function touch() {
  if (touching) return;
  touching = true;
  try {
    learn(await api('GET', '/api/v1/agent/me'));
  } catch {
    /* a 401 signs out through the api module; anything else: next time */
  } finally {
    touching = false;
  }
}

// describe says in words how long is left.
export function describe(l) {
  return t(idleLimited() ? 'session.idle' : 'session.max', { time: fmtDuration(l) });
}
