// tapd's pages work without JavaScript; this file adds what needs it: the WebAuthn calls
// (adding a passkey, signing in with one), copying an issued pass, and the browser's time zone.
'use strict';

/** A JSON POST with the page's CSRF token; answers the parsed body or throws its message. */
async function post(url, body, csrf) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : {};
  if (!response.ok) {
    throw new Error(json?.error?.message ?? `The server answered ${response.status}.`);
  }
  return json;
}

const webauthn = () => typeof PublicKeyCredential !== 'undefined'
  && typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function';

function say(element, message) {
  if (element) element.textContent = message;
}

// My Security Info: "Add sign-in method → Passkey".
function setUpAddPasskey() {
  const form = document.getElementById('add-passkey');
  if (!form) return;
  const status = document.getElementById('passkey-status');
  if (!webauthn()) {
    say(status, 'This browser cannot create passkeys.');
    form.querySelector('button').disabled = true;
    return;
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const csrf = form.dataset.csrf;
    const name = form.querySelector('[name=name]').value.trim();
    try {
      say(status, 'Follow your browser’s prompt…');
      const start = await post('/api/passkeys/register/start', {}, csrf);
      const credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(start.options),
      });
      await post('/api/passkeys/register/finish', { displayName: name, credential: credential.toJSON() }, csrf);
      say(status, 'Passkey added.');
      window.location.assign('/mysecurityinfo');
    } catch (e) {
      say(status, e.name === 'NotAllowedError' ? 'Cancelled, or the authenticator refused.' : e.message);
      status.setAttribute('role', 'alert');
    }
  });
}

// The sign-in page: a passkey button, and passkeys offered in the user name's autofill.
function setUpPasskeySignIn() {
  const button = document.getElementById('passkey-signin');
  if (!button || !webauthn()) return;
  button.hidden = false;
  const csrf = button.dataset.csrf;
  const status = document.getElementById('passkey-signin-status');
  const carried = () => ({
    authz: document.querySelector('[name=authz]')?.value ?? '',
    next: document.querySelector('[name=next]')?.value ?? '',
  });
  const finish = async (credential) => {
    const done = await post('/signin/passkey/finish', { credential: credential.toJSON(), ...carried() }, csrf);
    window.location.assign(done.redirect);
  };
  let conditional = null;
  button.addEventListener('click', async () => {
    conditional?.abort();
    try {
      const start = await post('/api/signin/passkey/start', {}, csrf);
      const credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(start.options),
      });
      await finish(credential);
    } catch (e) {
      say(status, e.name === 'NotAllowedError' ? 'Cancelled, or no passkey was chosen.' : e.message);
    }
  });
  // Conditional UI: passkeys appear in the user name field's suggestions.
  const username = document.getElementById('username');
  if (username && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(async (available) => {
      if (!available) return;
      conditional = new AbortController();
      try {
        const start = await post('/api/signin/passkey/start', {}, csrf);
        const credential = await navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(start.options),
          mediation: 'conditional',
          signal: conditional.signal,
        });
        await finish(credential);
      } catch (e) {
        if (e.name !== 'AbortError' && e.name !== 'NotAllowedError') say(status, e.message);
      }
    });
  }
}

// An issued pass: a copy button.
function setUpCopy() {
  for (const button of document.querySelectorAll('[data-copy]')) {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = 'Copied';
    });
  }
}

// The pass form: activation times typed in the browser's time zone.
function setUpTimeZone() {
  const offset = document.getElementById('tz-offset');
  if (offset) offset.value = String(-new Date().getTimezoneOffset());
}

setUpAddPasskey();
setUpPasskeySignIn();
setUpCopy();
setUpTimeZone();
