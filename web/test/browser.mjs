// End-to-end test of the console page against a running Scalebox: sign in (a wrong token first),
// create a VM, watch it come to run without reloading, type `hostname` into its serial console,
// screenshot its page, stop it and delete it. Exit code 0 = pass.
// Env: SCALEBOX_URL, SCALEBOX_TOKEN, VM_NAME, SSH_KEY, TEMPLATE, SCREENSHOT; CHROMIUM (optional).
import { launch, env } from './launch.mjs';

const base = env('SCALEBOX_URL');
const token = env('SCALEBOX_TOKEN');
const name = env('VM_NAME');
const key = env('SSH_KEY');
const template = env('TEMPLATE');
const screenshot = env('SCREENSHOT');

const timings = {};
const pageErrors = [];
const row = `#vm-table tr[data-vm=${JSON.stringify(name)}]`;
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
const page = await context.newPage();
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => m.type() === 'error' && console.log(`  [page console] ${m.text()}`));
page.on('dialog', (d) => d.accept());

async function step(label, fn) {
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    const banner = await page.locator('#error .text').textContent({ timeout: 1000 }).catch(() => null);
    console.error(`FAIL ${label} after ${Date.now() - t0} ms: ${e.message.split('\n')[0]}`);
    if (banner) console.error(`  the page's error banner says: ${banner}`);
    if (pageErrors.length) console.error(`  JavaScript errors: ${pageErrors.join(' | ')}`);
    await page.screenshot({ path: screenshot.replace(/(\.png)?$/, '-failed.png'), fullPage: true }).catch(() => {});
    await browser.close();
    process.exit(1);
  }
  timings[label] = Date.now() - t0;
  console.log(`ok   ${label} (${timings[label]} ms)`);
}

/** Waits until the VM's row shows `want`; fails at once on `error`. */
async function waitState(want, ms) {
  const deadline = Date.now() + ms;
  let last = null;
  while (Date.now() < deadline) {
    const cell = page.locator(`${row} td.state`);
    const state = (await cell.count()) ? (await cell.textContent()).trim() : null;
    if (state !== last) console.log(`     state: ${state ?? '(no row)'} ${state ? (await cell.getAttribute('title')) || '' : ''}`);
    last = state;
    if (state === want) return;
    if (state === 'error' && want !== 'error') throw new Error(`the VM went to error: ${await cell.getAttribute('title')}`);
    await page.waitForTimeout(500);
  }
  throw new Error(`the row did not show ${want} within ${ms / 1000} s (last: ${last})`);
}

await step('open page', async () => {
  await page.goto(base);
  await page.locator('#signin input[name=token]').waitFor({ timeout: 30000 });
});

await step('wrong token refused', async () => {
  await page.fill('#signin input[name=token]', `${token}-wrong`);
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/session' && r.request().method() === 'POST');
  await page.click('#signin button[type=submit]');
  const status = (await answer).status();
  if (status !== 401) throw new Error(`POST /session with a wrong token answered ${status}, not 401`);
  const text = (await page.locator('#error .text').textContent({ timeout: 10000 })).trim();
  if (!text) throw new Error('no error message shown');
  console.log(`     error shown: ${text}`);
  await page.locator('#signin').waitFor({ timeout: 5000 });
  if ((await page.inputValue('#signin input[name=token]')) !== '') throw new Error('the token input was not cleared');
});

await step('sign in', async () => {
  await page.fill('#signin input[name=token]', token);
  await page.click('#signin button[type=submit]');
  await page.locator('#vm-table[data-loaded=true]').waitFor({ timeout: 30000 });
  if (await page.locator('#signin').count()) throw new Error('the sign-in form is still shown');
});

await step('create VM', async () => {
  await page.fill('#create-vm input[name=name]', name);
  await page.waitForFunction((t) => [...(document.querySelector('#create-vm select[name=template]')?.options ?? [])]
    .some((o) => o.value === t), template, { timeout: 10000 }).catch(() => {
    throw new Error(`the template select has no ${template}`);
  });
  await page.selectOption('#create-vm select[name=template]', template);
  await page.fill('#create-vm textarea[name=ssh_public_key]', key);
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/vms' && r.request().method() === 'POST');
  await page.click('#create-vm button[type=submit]');
  const res = await answer;
  if (res.status() !== 201) throw new Error(`POST /vms answered ${res.status()}: ${await res.text()}`);
  await page.locator(row).waitFor({ timeout: 10000 });
});

await step('running (live, no reload)', () => waitState('running', 240000));

await step('open VM page', async () => {
  await page.click(`${row} a`);
  await page.locator('#vm-page #console .xterm').waitFor({ timeout: 30000 });
  await page.locator('#console-status[data-ws=open]').waitFor({ timeout: 30000 });
});

await step('hostname in console', async () => {
  const deadline = Date.now() + 120000;
  const hasName = () => page.evaluate((n) => (window.scaleboxConsole?.text() ?? '').split('\n').some((l) => l.trim() === n), name);
  while (Date.now() < deadline) {
    await page.click('#console');
    await page.keyboard.press('Control+U');
    await page.keyboard.type('hostname');
    await page.keyboard.press('Enter');
    const until = Math.min(deadline, Date.now() + 10000);
    while (Date.now() < until) {
      if (await hasName()) return;
      const ws = await page.getAttribute('#console-status', 'data-ws');
      if (ws === 'closed') throw new Error(`the console closed: ${await page.textContent('#console-status')}`);
      await page.waitForTimeout(250);
    }
  }
  const tail = await page.evaluate(() => (window.scaleboxConsole?.text() ?? '').trimEnd().split('\n').slice(-8).join('\n'));
  throw new Error(`no line "${name}" in the console within 120 s; its last lines:\n${tail}`);
});

await step('screenshot', async () => {
  await page.waitForTimeout(500);
  await page.screenshot({ path: screenshot, fullPage: true });
});

await step('stop VM', async () => {
  await page.click('header nav a[href="#/"]');
  await page.locator(row).waitFor({ timeout: 30000 });
  await page.click(`${row} button[data-action=stop]`);
  await waitState('stopped', 120000);
});

await step('delete VM', async () => {
  await page.click(`${row} button[data-action=delete]`);
  await page.locator(row).waitFor({ state: 'detached', timeout: 60000 });
});

await browser.close();
if (pageErrors.length) {
  console.error(`FAIL JavaScript errors on the page: ${pageErrors.join(' | ')}`);
  process.exit(1);
}
console.log(JSON.stringify({ result: 'pass', timings_ms: timings }));
