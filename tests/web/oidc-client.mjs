// A third-party OpenID Connect client (openid-client, unmodified) against a real `tapd serve`:
// discovery, the authorization-code flow with PKCE (the sign-in pages answered over HTTP, as a
// browser without JavaScript would), ID token validation against the JWKS, userinfo, refresh,
// introspection and revocation, and the refresh refused once the pass is deleted.
//
// Environment (set by run-oidc.sh): TAPD_URL, SPA_CLIENT_ID, WEB_CLIENT_ID, WEB_CLIENT_SECRET,
// ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, REDIRECT_URI.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env('TAPD_URL');
const redirectUri = env('REDIRECT_URI');
const insecure = { execute: [oidc.allowInsecureRequests] }; // http on the loopback only

let passed = 0;
let failed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${e?.stack ?? e}`);
  }
}

/** A browser without JavaScript: cookies, no redirect following, hidden inputs. */
class Browser {
  cookies = new Map();
  async fetch(url, init = {}) {
    const headers = { ...(init.headers ?? {}), cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    const response = await fetch(new URL(url, base), { ...init, headers, redirect: 'manual' });
    for (const c of response.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const [k, v] = [pair.slice(0, i), pair.slice(i + 1)];
      if (!v || /Max-Age=0/.test(c)) this.cookies.delete(k); else this.cookies.set(k, v);
    }
    return { status: response.status, location: response.headers.get('location'), body: await response.text() };
  }
  post(url, fields) {
    return this.fetch(url, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
}

const unescape = (s) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
const input = (html, name) => {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  assert.ok(m, `the page has an input ${name}`);
  return unescape(m[1]);
};

/** Signs `upn` in on tapd's pages with a pass, starting from an authorization URL. */
async function signInWithPass(browser, authorizationUrl, upn, code) {
  const page = await browser.fetch(authorizationUrl);
  assert.equal(page.status, 200, 'the sign-in page');
  const csrf = input(page.body, 'csrf');
  const authz = input(page.body, 'authz');
  const methods = await browser.post('/signin', { csrf, authz, username: upn });
  assert.match(methods.body, /Temporary Access Pass/);
  const back = await browser.post('/signin/tap', { csrf, authz, username: upn, code });
  assert.equal(back.status, 303, `back to the app: ${back.body.slice(0, 300)}`);
  return new URL(back.location);
}

// The admin side: an app with client credentials creates Alice and her pass through Graph.
const root = await (await fetch(`${base}/.well-known/openid-configuration`)).json();
const issuer = new URL(root.issuer);
const admin = await oidc.discovery(issuer, env('ADMIN_CLIENT_ID'), env('ADMIN_CLIENT_SECRET'), undefined, insecure);
const adminToken = (await oidc.clientCredentialsGrant(admin, { scope: 'https://graph.microsoft.com/.default' })).access_token;
const graph = async (method, path, body) => {
  const r = await fetch(`${base}/v1.0${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${await r.clone().text()}`);
  return r.status === 204 ? null : r.json();
};
const upn = `alice.${Date.now()}@tapd.local`;
const alice = await graph('POST', '/users', { accountEnabled: true, displayName: 'Alice', mailNickname: 'alice', userPrincipalName: upn });
const issue = () => graph('POST', `/users/${alice.id}/authentication/temporaryAccessPassMethods`, { lifetimeInMinutes: 60, isUsableOnce: true });

let spa;
let tokens;
let pass;
let idClaims;

await step('discovery: the issuer, endpoints and keys', async () => {
  spa = await oidc.discovery(issuer, env('SPA_CLIENT_ID'), undefined, oidc.None(), insecure);
  const meta = spa.serverMetadata();
  assert.equal(meta.issuer, root.issuer);
  assert.ok(meta.jwks_uri && meta.authorization_endpoint && meta.token_endpoint);
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
});

await step('authorization code + PKCE through the sign-in pages; the ID token validates', async () => {
  pass = await issue();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(spa, {
    redirect_uri: redirectUri,
    scope: 'openid profile offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const callback = await signInWithPass(new Browser(), url, upn, pass.temporaryAccessPass);
  // openid-client checks the state, redeems the code with the verifier, fetches the JWKS and
  // verifies the ID token's signature, issuer, audience, expiry and nonce.
  tokens = await oidc.authorizationCodeGrant(spa, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  idClaims = tokens.claims();
  assert.equal(idClaims.sub, alice.id);
  assert.equal(idClaims.preferred_username, upn);
  assert.deepEqual(idClaims.amr, ['tap']);
  const passEnd = Date.parse(pass.startDateTime) / 1000 + 60 * 60;
  assert.ok(idClaims.exp <= passEnd, 'the ID token ends no later than the pass');
});

await step('a wrong PKCE verifier is refused', async () => {
  const browser = new Browser();
  const p = await issue();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(spa, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state,
  });
  const callback = await signInWithPass(browser, url, upn, p.temporaryAccessPass);
  await assert.rejects(
    oidc.authorizationCodeGrant(spa, callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state }),
    (e) => e.error === 'invalid_grant',
  );
  pass = p; // the newest pass is the one that counts from here on
  // The earlier sign-in's pass was replaced: its refresh token dies with it. Sign in again.
  const verifier = oidc.randomPKCECodeVerifier();
  const again = oidc.buildAuthorizationUrl(spa, {
    redirect_uri: redirectUri,
    scope: 'openid profile offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const silent = await browser.fetch(again);
  assert.equal(silent.status, 303, 'the browser session signs in silently');
  tokens = await oidc.authorizationCodeGrant(spa, new URL(silent.location), { pkceCodeVerifier: verifier, expectedState: state });
});

await step('userinfo answers for the access token', async () => {
  const info = await oidc.fetchUserInfo(spa, tokens.access_token, alice.id);
  assert.equal(info.preferred_username, upn);
});

await step('refresh rotates the refresh token', async () => {
  const renewed = await oidc.refreshTokenGrant(spa, tokens.refresh_token);
  assert.notEqual(renewed.refresh_token, tokens.refresh_token);
  assert.equal(renewed.claims().sub, alice.id, 'a refreshed ID token validates too');
  await assert.rejects(oidc.refreshTokenGrant(spa, tokens.refresh_token), (e) => e.error === 'invalid_grant', 'reuse is refused');
  await assert.rejects(oidc.refreshTokenGrant(spa, renewed.refresh_token), (e) => e.error === 'invalid_grant', 'and revokes the family');
});

await step('a confidential client introspects and revokes', async () => {
  const web = await oidc.discovery(issuer, env('WEB_CLIENT_ID'), env('WEB_CLIENT_SECRET'), undefined, insecure);
  const browser = new Browser();
  const p = await issue();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(web, { redirect_uri: redirectUri, scope: 'openid offline_access', state });
  const callback = await signInWithPass(browser, url, upn, p.temporaryAccessPass);
  const t = await oidc.authorizationCodeGrant(web, callback, { expectedState: state });
  const active = await oidc.tokenIntrospection(web, t.refresh_token);
  assert.equal(active.active, true);
  await oidc.tokenRevocation(web, t.refresh_token);
  assert.equal((await oidc.tokenIntrospection(web, t.refresh_token)).active, false);
  pass = p;
  tokens = await (async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const u = oidc.buildAuthorizationUrl(spa, {
      redirect_uri: redirectUri,
      scope: 'openid offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const silent = await browser.fetch(u);
    assert.equal(silent.status, 303);
    return oidc.authorizationCodeGrant(spa, new URL(silent.location), { pkceCodeVerifier: verifier, expectedState: state });
  })();
});

await step('after the pass is deleted, refresh fails with invalid_grant', async () => {
  const fresh = await oidc.refreshTokenGrant(spa, tokens.refresh_token);
  await graph('DELETE', `/users/${alice.id}/authentication/temporaryAccessPassMethods/${pass.id}`);
  await assert.rejects(oidc.refreshTokenGrant(spa, fresh.refresh_token), (e) => e.error === 'invalid_grant');
});

await step('RP-initiated logout returns to the registered URI', async () => {
  const url = oidc.buildEndSessionUrl(spa, { post_logout_redirect_uri: redirectUri, client_id: env('SPA_CLIENT_ID'), state: 'bye' });
  const r = await new Browser().fetch(url);
  assert.equal(r.status, 303);
  assert.equal(r.location, `${redirectUri}?state=bye`);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
