// Opt-in alerts for a new waiting contact: a short sound (made with Web
// Audio, so there is no file to fetch) and a browser notification. Both
// are off until the agent turns them on; the choice is kept in this
// browser. A notification names only the purpose, never the caller.
import { t } from './i18n.js';

const KEY_SOUND = 'veilig.console.sound';
const KEY_NOTIFY = 'veilig.console.notify';

function stored(key) {
  try {
    return localStorage.getItem(key) === '1';
  } catch {
    return false;
  }
}

function store(key, on) {
  try {
    if (on) localStorage.setItem(key, '1');
    else localStorage.removeItem(key);
  } catch {
    /* private mode: the choice lasts this page only */
  }
}

let audio = null;
let sound = stored(KEY_SOUND);

// Browsers start audio only after a gesture: make the context on the first one.
function unlock() {
  if (!sound) return;
  if (!audio) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    audio = new AC();
  }
  if (audio.state === 'suspended') audio.resume();
}
document.addEventListener('pointerdown', unlock, { capture: true });
document.addEventListener('keydown', unlock, { capture: true });

export const soundOn = () => sound;

export function setSound(on) {
  sound = on;
  store(KEY_SOUND, on);
  if (on) {
    unlock();
    beep();
  }
}

function beep() {
  if (!audio || audio.state !== 'running') return;
  const now = audio.currentTime;
  for (const [i, freq] of [880, 1175].entries()) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.25, now + i * 0.18 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + i * 0.18);
    osc.stop(now + i * 0.18 + 0.17);
  }
}

export const notifySupported = () => 'Notification' in window;
export const notifyOn = () => notifySupported() && stored(KEY_NOTIFY) && Notification.permission === 'granted';

// setNotify asks for permission when turning on; it resolves to whether
// notifications are on now.
export async function setNotify(on) {
  if (!on || !notifySupported()) {
    store(KEY_NOTIFY, false);
    return false;
  }
  const p = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
  store(KEY_NOTIFY, p === 'granted');
  return p === 'granted';
}

// newContact alerts the agent to a contact that started waiting.
export function newContact(contactID, purposeText) {
  if (sound) beep();
  if (notifyOn() && (document.visibilityState !== 'visible' || !document.hasFocus())) {
    try {
      const n = new Notification(t('notify.title'), { body: purposeText, tag: 'veilig-' + contactID });
      n.onclick = () => {
        window.focus();
        n.close();
      };
    } catch {
      /* some browsers only notify from a service worker */
    }
  }
}
