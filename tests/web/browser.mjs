// The browser suite: Debian's Chromium, headless, driven by playwright-core, with the WebAuthn
// virtual authenticator (CDP), against a `tapd serve` on http://localhost:PORT (run-browser.sh).
// The first-day walkthrough: the bootstrap admin signs in with the printed pass, adds a passkey,
// tunes the policy, creates Alice and issues her a one-time pass in the admin center; Alice signs
// in with it, adds a passkey, signs out, signs in with the passkey (username-less), and deletes
// her pass; reusing the pass, an expired pass and a not-yet-valid pass get their messages.
// Then: a new pass is shown once after a redirect (a reload neither shows it again nor issues
// another), a pass-only user is offered the pass first, deleting the pass a session was opened
// with signs it out and the sign-in page says why, the policy page words its refusals with its
// labels, `tapd login --browser` comes back to the terminal after a passkey sign-in, a user of a
// federated domain is sent to its provider (a second `tapd serve`) and back, a guest from
// another organization signs in at home for an app of the one that invited them, and no page
// logs a console error or fails to load a subresource.
// A screenshot of each page goes to artifacts/browser/.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env('TAPD_URL');
const shots = env('ARTIFACTS');
mkdirSync(shots, { recursive: true });

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

/** What went wrong in any tab, across the whole suite: console errors, uncaught exceptions,
 * subresources (styles, scripts, the icon, fetches) that failed or answered an error. A page
 * answering an error on purpose (a wrong pass is a 401 document) is not counted, nor the console
 * line Chromium logs for it. */
const problems = [];
const refusedPages = new Set(); // documents answered with an error status
const consoleErrors = [];
function watch(page) {
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push({ page: page.url(), at: m.location().url, text: m.text() });
  });
  page.on('pageerror', (e) => problems.push(`uncaught on ${page.url()}: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() < 400) return;
    if (r.request().resourceType() === 'document') refusedPages.add(r.url());
    else problems.push(`${r.request().method()} ${r.url()} answered ${r.status()}`);
  });
  // A request the browser cancels because the page moved on (net::ERR_ABORTED) is not a failure.
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (!why.includes('ERR_ABORTED')) problems.push(`${r.method()} ${r.url()} failed: ${why}`);
  });
}
const consoleProblems = () => consoleErrors
  .filter((e) => !(e.text.startsWith('Failed to load resource') && refusedPages.has(e.at)))
  .map((e) => `console error on ${e.page}: ${e.text}${e.at ? ` (${e.at})` : ''}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});

/** A tab with its own platform authenticator (user-verifying, resident keys). */
async function person(viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, baseURL: base });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  watch(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  // With presence simulated, the authenticator answers the sign-in page's autofill (conditional)
  // request at once, as a person picking their passkey from the list would; off, it waits.
  const presence = (enabled) => cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
  return { context, page, credentials, presence };
}

const shot = (page, name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });

/** Name, then the pass, on /signin; answers the page where it ends. */
async function signInWithPass(page, upn, code) {
  await page.goto('/signin');
  await page.fill('#username', upn);
  await page.click('button:has-text("Next")');
  const tapForm = page.locator('#tap-form');
  if (!(await tapForm.isVisible())) await page.click('summary:has-text("Temporary Access Pass")');
  await page.fill('#code', code);
  await tapForm.locator('button[type=submit]').click();
  await page.waitForLoadState('load');
}

async function addPasskey(page, name) {
  await page.fill('#passkey-name', name);
  await page.click('#add-passkey-button');
  await page.waitForSelector(`#methods tr[data-kind=passkey]:has-text("${name}")`);
}

async function signOut(page) {
  await page.click('nav button:has-text("Sign out")');
  await page.waitForURL('**/signin');
}

const admin = await person();
let alicePass;
let carol;
let carolPass;

await step('the bootstrap admin signs in with the printed pass', async () => {
  const { page } = admin;
  await page.goto('/signin');
  await shot(page, 'signin');
  await signInWithPass(page, env('ADMIN_UPN'), env('ADMIN_PASS'));
  assert.match(page.url(), /\/mysecurityinfo$/);
  assert.ok(await page.isVisible('#add-method-banner'), 'asked to add a sign-in method');
  await shot(page, 'mysecurityinfo-first-sign-in');
});

await step('the admin registers a passkey', async () => {
  await addPasskey(admin.page, 'Admin laptop');
  assert.equal((await admin.credentials()).length, 1);
  assert.ok(!(await admin.page.isVisible('#add-method-banner')), 'the banner is gone');
  await shot(admin.page, 'mysecurityinfo-passkey');
});

await step('the admin tunes the policy: a wrong range is refused, then saved', async () => {
  const { page } = admin;
  await page.click('nav a:has-text("TAP policy")');
  await shot(page, 'admin-policy');
  await page.fill('#min', '120');
  await page.fill('#max', '60');
  await page.click('#policy-form button[type=submit]');
  assert.match(await page.textContent('#policy-error'), /./);
  await page.fill('#min', '30');
  await page.fill('#max', '600');
  await page.click('#policy-form button[type=submit]');
  assert.match(await page.textContent('#policy-saved'), /saved/);
});

await step('the policy page words its limits and refusals with its own labels', async () => {
  const { page } = admin;
  await page.click('nav a:has-text("TAP policy")');
  assert.match(await page.textContent('#policy-form .hint'), /\b10 to 43,200 minutes\b/);
  await page.fill('#min', '5');
  await page.click('#policy-form button[type=submit]');
  assert.equal((await page.textContent('#policy-error')).trim(), 'Minimum lifetime must be between 10 and 43,200 minutes.');
  assert.equal(await page.inputValue('#min'), '5', 'the form keeps what was sent');
  await shot(page, 'admin-policy-refused');
  await page.click('nav a:has-text("TAP policy")');
  assert.equal(await page.inputValue('#min'), '30', 'nothing was saved');
});

await step('the admin creates Alice and issues her a one-time pass, shown once', async () => {
  const { page } = admin;
  await page.click('nav a:has-text("Users")');
  await page.fill('#upn', 'alice@tapd.local');
  await page.fill('#name', 'Alice Example');
  await page.click('#new-user button[type=submit]');
  await page.waitForSelector('#add-tap');
  await page.check('#tap-once');
  await page.fill('#lifetime', '60');
  await page.click('#add-tap button[type=submit]');
  alicePass = (await page.textContent('#issued-pass')).trim();
  assert.ok(alicePass.length >= 8, 'a pass');
  assert.ok(await page.isVisible('#copy-pass'), 'with a copy button');
  await shot(page, 'admin-user-pass-issued');
  await page.click('nav a:has-text("Users")');
  await shot(page, 'admin-users');
  await page.click('nav a:has-text("Roles")');
  await shot(page, 'admin-roles');
});

const alice = await person({ width: 390, height: 844 }); // a phone

await step('Alice signs in with her pass and is asked to add a passkey', async () => {
  await signInWithPass(alice.page, 'alice@tapd.local', alicePass);
  assert.match(alice.page.url(), /\/mysecurityinfo$/);
  assert.ok(await alice.page.isVisible('#add-method-banner'));
  await shot(alice.page, 'mysecurityinfo-phone');
});

await step('Alice registers a passkey and signs out', async () => {
  await addPasskey(alice.page, 'Alice phone');
  assert.equal((await alice.credentials()).length, 1);
  await alice.presence(false); // she does not pick her passkey from the autofill list
  await signOut(alice.page);
});

await step('reusing the one-time pass fails with its message', async () => {
  await signInWithPass(alice.page, 'alice@tapd.local', alicePass);
  assert.match(await alice.page.textContent('#signin-error'), /has been used/);
  await shot(alice.page, 'signin-pass-used');
});

await step('Alice signs in with her passkey from the autofill list, without typing her name', async () => {
  await alice.presence(true);
  await alice.page.goto('/signin');
  await alice.page.waitForURL('**/mysecurityinfo');
  assert.ok(await alice.page.isVisible('#methods tr[data-kind=tap]'), 'her pass is listed');
  await shot(alice.page, 'mysecurityinfo-passkey-phone');
});

await step('Alice deletes her pass', async () => {
  await alice.page.click('#methods tr[data-kind=tap] button:has-text("Delete")');
  await alice.page.waitForLoadState('load');
  assert.equal(await alice.page.locator('#methods tr[data-kind=tap]').count(), 0);
  assert.equal(await alice.page.locator('#methods tr[data-kind=passkey]').count(), 1);
});

await step('an expired pass and a pass not valid yet get their messages', async () => {
  const { page } = admin;
  await page.click('nav a:has-text("Users")');
  await page.fill('#upn', 'bob@tapd.local');
  await page.fill('#name', 'Bob');
  await page.click('#new-user button[type=submit]');
  await page.waitForSelector('#add-tap');
  await page.fill('#lifetime', '60');
  await page.click('#add-tap button[type=submit]');
  const bobPass = (await page.textContent('#issued-pass')).trim();
  // An hour and a minute later: the test moves the pass back in time in the database.
  execFileSync(process.env.PYTHON ?? 'python3', ['-c', `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE taps SET start_at = start_at - 3660000000 WHERE user_id = (SELECT id FROM users WHERE upn_lower = 'bob@tapd.local')")
db.commit()`, env('TAPD_DB')]);
  const bob = await person();
  await signInWithPass(bob.page, 'bob@tapd.local', bobPass);
  assert.match(await bob.page.textContent('#signin-error'), /has expired/);
  await shot(bob.page, 'signin-pass-expired');

  await page.click('#start-at-choice');
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
  const local = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await page.fill('#start-at', local);
  await page.click('#add-tap button[type=submit]');
  const later = (await page.textContent('#issued-pass')).trim();
  await signInWithPass(bob.page, 'bob@tapd.local', later);
  assert.match(await bob.page.textContent('#signin-error'), /not valid yet/);
  await bob.context.close();
});

await step('a new pass: the POST answers with a redirect to the user page, which shows it once; a reload shows nothing and issues nothing', async () => {
  const { page } = admin;
  const dialogs = [];
  const onDialog = (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  };
  page.on('dialog', onDialog);
  try {
    await page.click('nav a:has-text("Users")');
    await page.fill('#upn', 'carol@tapd.local');
    await page.fill('#name', 'Carol');
    await page.click('#new-user button[type=submit]');
    await page.waitForSelector('#add-tap');
    const userPath = new URL(page.url()).pathname;
    assert.match(userPath, /^\/admin\/users\/[^/]+$/);
    await page.uncheck('#tap-once'); // multi-use: she signs in with it twice below
    await page.fill('#lifetime', '120');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `${userPath}/tap`),
      page.click('#add-tap button[type=submit]'),
    ]);
    assert.equal(answer.status(), 303, 'POST/redirect/GET');
    assert.equal(answer.headers().location, `${userPath}?issued=1#issued`);
    await page.waitForURL((u) => u.pathname === userPath && u.search === '?issued=1' && u.hash === '#issued');
    carolPass = (await page.textContent('#issued-pass')).trim();
    assert.ok(carolPass.length >= 8, 'a pass');
    assert.ok(await page.isVisible('#issued'), 'shown');
    const passId = await page.inputValue('#methods tr[data-kind=tap] input[name=id]');
    const detail = await page.textContent('#methods tr[data-kind=tap] td:nth-child(2)');
    await shot(page, 'admin-user-pass-redirected');

    const reloaded = await page.reload();
    assert.equal(reloaded.request().method(), 'GET', 'the reload is a GET');
    assert.equal(reloaded.status(), 200);
    assert.equal(await page.locator('#issued-pass').count(), 0, 'the pass is not shown again');
    assert.match(await page.textContent('main .notice[role=status]'), /shown once/);
    assert.equal(await page.locator('#methods tr[data-kind=tap]').count(), 1);
    assert.equal(await page.inputValue('#methods tr[data-kind=tap] input[name=id]'), passId, 'the same pass');
    assert.equal(await page.textContent('#methods tr[data-kind=tap] td:nth-child(2)'), detail, 'the same validity');
    await shot(page, 'admin-user-pass-reloaded');
    assert.deepEqual(dialogs, [], 'no prompt to resubmit a form');
  } finally {
    page.off('dialog', onDialog);
  }
  // The code read before the reload still signs her in: no other pass replaced it.
  carol = await person();
  await signInWithPass(carol.page, 'carol@tapd.local', carolPass);
  assert.match(carol.page.url(), /\/mysecurityinfo$/);
});

await step('a user with no password and a usable pass is offered the pass first; an unknown user, a password', async () => {
  const { page } = carol;
  await signOut(page);
  await page.fill('#username', 'carol@tapd.local');
  await page.click('button:has-text("Next")');
  await page.waitForSelector('#tap-form #code');
  assert.ok(await page.isVisible('#tap-form #code'), 'the pass field is shown');
  await page.waitForFunction(() => document.activeElement?.id === 'code', null, { timeout: 3000 });
  assert.equal(await page.locator('#password-form').count(), 0, 'no password form');
  assert.equal(await page.locator('input[type=password][name=password]').count(), 0, 'no password field');
  await shot(page, 'signin-pass-first');

  const domain = env('ADMIN_UPN').split('@')[1];
  await page.click('a:has-text("Use another account")');
  await page.fill('#username', `nobody@${domain}`);
  await page.click('button:has-text("Next")');
  await page.waitForSelector('#password-form');
  assert.ok(await page.isVisible('#password-form #password'), 'the password form is shown');
  assert.ok(!(await page.isVisible('#tap-form')), 'the pass form is folded away');
  await page.click('summary:has-text("Use a Temporary Access Pass")');
  assert.ok(await page.isVisible('#tap-form #code'), 'and behind the disclosure');
  await shot(page, 'signin-unknown-user');
  await carol.context.close();
});

await step('deleting the pass she signed in with signs Alice out, and the sign-in page says why', async () => {
  const { page } = admin;
  await page.click('nav a:has-text("Users")');
  await page.click('#users a:has-text("Alice Example")');
  await page.check('#tap-once');
  await page.fill('#lifetime', '60');
  await page.click('#add-tap button[type=submit]');
  const code = (await page.textContent('#issued-pass')).trim();

  await alice.presence(false);
  await signOut(alice.page);
  await signInWithPass(alice.page, 'alice@tapd.local', code);
  assert.match(alice.page.url(), /\/mysecurityinfo$/);
  await alice.page.click('#methods tr[data-kind=tap] button:has-text("Delete")');
  await alice.page.waitForURL((u) => u.pathname === '/signin' && u.searchParams.get('ended') === 'pass');
  assert.equal(
    (await alice.page.textContent('#signin-notice')).trim(),
    'Your Temporary Access Pass was deleted, so you were signed out. Sign in with your passkey.',
  );
  await shot(alice.page, 'signin-pass-deleted');
  // The session is over: her page sends her to sign in.
  await alice.page.goto('/mysecurityinfo');
  assert.equal(new URL(alice.page.url()).pathname, '/signin');
  assert.equal(await alice.page.locator('nav button:has-text("Sign out")').count(), 0);
  // And her passkey still signs her in.
  await alice.page.fill('#username', 'alice@tapd.local');
  await alice.page.click('button:has-text("Next")');
  await alice.page.waitForSelector('.who');
  await alice.presence(true);
  await alice.page.goto('/signin');
  await alice.page.waitForURL('**/mysecurityinfo');
  assert.equal(await alice.page.locator('#methods tr[data-kind=tap]').count(), 0);
});

await step('in a browser without autofill for passkeys, the "Sign in with a passkey" button', async () => {
  await admin.page.addInitScript(() => {
    PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
  await signOut(admin.page);
  await admin.page.click('#passkey-signin');
  await admin.page.waitForURL('**/mysecurityinfo');
});

await step('the admin uploads a CSV of users and downloads the results file, offered once', async () => {
  const { page } = admin;
  await page.goto('/admin/onboarding');
  await page.click('#bulk-link');
  await page.waitForSelector('#bulk-form');
  const csv = 'userPrincipalName,lifetimeInMinutes\nalice@tapd.local,60\nnobody@tapd.local,\n';
  await page.setInputFiles('#bulk-csv', { name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.click('#bulk-form button[type=submit]');
  await page.waitForSelector('#bulk-outcome');
  assert.equal((await page.textContent('#bulk-issued')).trim(), '1');
  assert.equal((await page.textContent('#bulk-failed')).trim(), '1');
  await shot(page, 'admin-bulk-results');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#bulk-download')]);
  assert.equal(download.suggestedFilename(), 'tap-results.csv');
  const chunks = [];
  for await (const c of await download.createReadStream()) chunks.push(c);
  const lines = Buffer.concat(chunks).toString('utf8').trim().split('\r\n');
  assert.equal(lines[0], 'userPrincipalName,temporaryAccessPass,startDateTime,endDateTime,status,error,oneTimeLink,deliveredTo');
  assert.match(lines[1], /^alice@tapd\.local,[^,]{8,},.*,issued,,,$/);
  assert.match(lines[2], /^nobody@tapd\.local,,,,failed,/);
  await page.goto('/admin/bulk');
  assert.equal(await page.locator('#bulk-download').count(), 0, 'the file is offered only once');
});

await step('tapd login --browser: the admin signs in with a passkey and the CLI keeps the tokens', async () => {
  const home = mkdtempSync(join(tmpdir(), 'tapd-cli-'));
  const cliEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
  delete cliEnv.DISPLAY;
  delete cliEnv.TAPD_TOKEN;
  const cli = spawn(env('TAPD_BIN'), ['login', '--browser', '--no-open', '--server', env('TAPD_CLI_SERVER')], { env: cliEnv });
  let said = '';
  const exited = new Promise((resolve) => cli.on('exit', resolve));
  const url = await new Promise((resolve, reject) => {
    cli.stderr.on('data', (d) => {
      said += d;
      const found = said.match(/^(http\S+)$/m);
      if (found) resolve(found[1]);
    });
    exited.then((code) => reject(new Error(`tapd login exited (${code}): ${said}`)));
  });
  const { page } = admin;
  await signOut(page);
  await page.goto(url);
  assert.match(await page.textContent('main'), /to continue to tapd CLI/);
  await shot(page, 'signin-tapd-cli');
  await page.click('#passkey-signin');
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/\?/);
  assert.match(await page.textContent('body'), /Signed in/);
  assert.equal(await exited, 0, said);
  const kept = JSON.parse(readFileSync(join(home, '.config/tapd/login.json'), 'utf8'));
  assert.equal(kept.user, env('ADMIN_UPN'));
  assert.ok(kept.refresh_token, 'a refresh token is kept');
  const users = execFileSync(env('TAPD_BIN'), ['user', 'list', '--json'], { env: cliEnv }).toString();
  assert.match(users, /alice@tapd\.local/);
  await page.goto('/mysecurityinfo');
});

await step('a federated user is told where they are sent, signs in at the provider and comes back signed in', async () => {
  const fed = await person();
  const { page } = fed;
  await page.goto('/signin');
  await page.fill('#username', env('FED_UPN'));
  await page.click('button:has-text("Next")');
  await page.waitForSelector('#federation-continue');
  const notice = await page.textContent('#federation-notice');
  assert.match(notice, /Fabrikam IdP/);
  assert.ok(notice.includes(env('UPSTREAM_URL')), `the provider's address is shown: ${notice}`);
  assert.equal(await page.locator('#password-form').count(), 0, 'no password form here');
  await shot(page, 'signin-federated');
  await page.click('#federation-continue');
  await page.waitForURL(`${env('UPSTREAM_URL')}/**`);
  assert.equal(await page.inputValue('#username'), env('FED_UPN'), 'the provider is told who');
  await shot(page, 'federation-provider-signin');
  await page.click('button:has-text("Next")');
  await page.fill('#password-form #password', env('FED_PASSWORD'));
  await page.locator('#password-form button[type=submit]').click();
  await page.waitForURL(`${base}/mysecurityinfo`);
  assert.ok((await page.textContent('body')).includes(env('FED_UPN')), 'signed in at tapd');
  await shot(page, 'federation-back-signed-in');
  await fed.context.close();
});

await step('a guest from another organization signs in at home and the app gets its code', async () => {
  const guest = await person();
  const { page } = guest;
  await page.goto(env('GUEST_AUTHORIZE_URL'));
  assert.ok((await page.textContent('body')).includes('Fabrikam wiki'), 'the app is named');
  await page.fill('#username', env('GUEST_UPN'));
  await page.click('button:has-text("Next")');
  await page.fill('#password-form #password', env('GUEST_PASSWORD'));
  await shot(page, 'guest-signin');
  await page.locator('#password-form button[type=submit]').click();
  await page.waitForURL('**/healthz?**');
  const back = new URL(page.url());
  assert.ok(back.searchParams.get('code'), `a code for the app: ${page.url()}`);
  assert.equal(back.searchParams.get('state'), 'guest');
  await guest.context.close();
});

await step('the admin center shows the organization: domains, federation, partners', async () => {
  const { page } = admin;
  await page.goto('/mysecurityinfo');
  await page.click('nav a:has-text("Organization")');
  await page.waitForSelector('#domains');
  assert.ok((await page.textContent('#domains')).includes('tapd.local'), 'the default domain');
  assert.ok(await page.isVisible('#federate'), 'the federation form');
  assert.ok(await page.isVisible('#add-partner'), 'the partner form');
  await shot(page, 'admin-organization');
});

await step('the icon is served, and no page logged a console error or failed to load a subresource', async () => {
  const icon = await admin.context.request.get('/favicon.ico');
  assert.equal(icon.status(), 200);
  assert.match(icon.headers()['content-type'] ?? '', /^image\//);
  assert.ok((await icon.body()).length > 0, 'an icon');
  assert.ok(refusedPages.size > 0, 'the refusals on purpose were seen (and not counted)');
  assert.deepEqual([...problems, ...consoleProblems()], []);
});

await browser.close();
console.log(`${passed} passed, ${failed} failed; screenshots in ${shots}`);
process.exit(failed === 0 ? 0 : 1);
