// Measures page load: navigation start to the VM table having all its rows rendered, in a fresh
// browser context each run (signed in by POST /session first).
// Env: SCALEBOX_URL, SCALEBOX_TOKEN, RUNS (default 10); CHROMIUM (optional).
// Prints {"runs":N,"p50_ms":..,"p95_ms":..,"rows":..}.
import { launch, env, signIn, percentile } from './launch.mjs';

const base = env('SCALEBOX_URL');
const token = env('SCALEBOX_TOKEN');
const runs = Number(env('RUNS', '10'));

const browser = await launch();
const times = [];
let rows = 0;
try {
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    await signIn(context, base, token);
    const vms = await context.request.get(new URL('/vms', base).href);
    if (!vms.ok()) throw new Error(`GET /vms answered ${vms.status()}: ${await vms.text()}`);
    const expected = (await vms.json()).length;
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(base, { waitUntil: 'commit' });
    // The predicate answers performance.now() (ms since navigation start) the moment all rows are there.
    const done = await page.waitForFunction(
      (n) => {
        const t = document.querySelector('#vm-table[data-loaded=true]');
        return t && t.querySelectorAll('tr[data-vm]').length >= n && performance.now();
      },
      expected,
      { polling: 'raf', timeout: 60000 },
    );
    const ms = await done.jsonValue();
    rows = await page.locator('#vm-table tr[data-vm]').count();
    if (errors.length) throw new Error(`JavaScript errors: ${errors.join(' | ')}`);
    times.push(ms);
    console.error(`run ${i + 1}: ${ms.toFixed(1)} ms, ${rows} rows`);
    await context.close();
  }
} catch (e) {
  console.error(`FAIL ${e.message}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log(JSON.stringify({ runs, p50_ms: percentile(times, 50), p95_ms: percentile(times, 95), rows }));
