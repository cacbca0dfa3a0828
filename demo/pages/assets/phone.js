// The demo phone page. The server plays the phone network: it routes the
// number and reports the typed code to the signed telephony API, with a
// secret this page never sees.
import { apply, t, api, errorMessage } from './i18n.js';
import { renderAgentHelp } from './agent.js';

apply();

const form = document.getElementById('call-form');
const dial = document.getElementById('dial');
const caller = document.getElementById('caller');
const callButton = form.querySelector('button[type="submit"]');
const status = document.getElementById('status');
const inCall = document.getElementById('in-call');
const inCallTitle = document.getElementById('in-call-title');
const inCallText = document.getElementById('in-call-text');
const hangup = document.getElementById('hangup');
const agent = document.getElementById('agent');

// The Yivi app opens the dialer with its tel: link; the demo wallet hands it
// over in the fragment.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get('dial')) dial.value = fragment.get('dial');

const infoReady = api('GET', '/demo/api/info').then(([st, data]) => (st === 200 ? data : null));
let callId = null;
let heard = null; // what the caller last heard of the call: queued, answered
let follow = null; // the timer that asks what became of the call

// followCall asks every second what became of the call, as a caller hears
// it: an agent answers, and the line goes quiet when the agent ends the
// contact.
function followCall(id) {
  clearTimeout(follow);
  heard = 'queued';
  const ask = async () => {
    if (callId !== id) return;
    let st = 0;
    let data = null;
    try {
      [st, data] = await api('GET', `/demo/api/phone/calls/${encodeURIComponent(id)}`);
    } catch {
      // the server is away for a moment: ask again
    }
    if (callId !== id) return;
    if (st === 404 || (st === 200 && data.state === 'ended')) {
      callEnded();
      return;
    }
    if (st === 200 && data.state === 'answered' && heard !== 'answered') {
      heard = 'answered';
      setStatus(t('answered'));
    }
    follow = setTimeout(ask, 1000);
  };
  follow = setTimeout(ask, 1000);
}

// callEnded shows that the other side ended the call.
function callEnded() {
  const hadFocus = inCall.contains(document.activeElement);
  clearTimeout(follow);
  callId = null;
  heard = null;
  setStatus(t('ended'));
  inCall.hidden = true;
  agent.hidden = true;
  form.hidden = false;
  if (hadFocus) dial.focus();
}

function setStatus(text, error) {
  status.textContent = text;
  status.classList.toggle('error', !!error);
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  callButton.disabled = true;
  setStatus(t('calling'));
  try {
    const [st, data] = await api('POST', '/demo/api/phone/calls', { dial: dial.value, caller: caller.value });
    if (st !== 200) return setStatus(errorMessage(data, st), true);
    switch (data.result) {
      case 'connected':
        callId = data.callId;
        followCall(callId);
        setStatus(t('connected'));
        inCallText.textContent = t('inCallText', { call: data.callId, contact: data.contact });
        inCall.hidden = false;
        form.hidden = true;
        const help = await infoReady;
        if (help) {
          renderAgentHelp(document.getElementById('agent-help'), help, data.contact);
          agent.hidden = false;
        }
        inCallTitle.focus();
        break;
      case 'no_match':
        setStatus(t('noMatch'), true);
        break;
      case 'not_in_service':
        setStatus(t('notInService'), true);
        break;
    }
  } catch (err) {
    setStatus(String(err), true);
  } finally {
    callButton.disabled = false;
  }
});

hangup.addEventListener('click', async () => {
  hangup.disabled = true;
  try {
    const [st, data] = await api('POST', `/demo/api/phone/calls/${encodeURIComponent(callId)}/hangup`);
    if (st !== 200) setStatus(errorMessage(data, st), true);
    else setStatus(t('hungUp'));
  } finally {
    hangup.disabled = false;
    clearTimeout(follow);
    inCall.hidden = true;
    form.hidden = false;
    callId = null;
    heard = null;
    dial.focus();
  }
});

const info = await infoReady;
if (info) {
  if (!caller.value) caller.value = info.callerNumber;
  if (info.phoneNumbers.length) dial.placeholder = `${info.phoneNumbers[0]},1234567890`;
}
