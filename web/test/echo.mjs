// Benchmark of the serial console's keystroke echo: WebSocket vs polling GET /vms/{id}/console.
// Runs inside headless chromium (a page on the Scalebox origin, signed in by POST /session), so the
// WebSocket carries the session cookie as the console page's does; Node 20's WebSocket is behind a
// flag and cannot send a Cookie header.
// Env: SCALEBOX_URL, SCALEBOX_TOKEN, VM_ID, SAMPLES (default 50); CHROMIUM (optional).
// The VM must be running with a shell on ttyS0 that echoes. Each sample sends one printable
// character and waits for it to come back; Ctrl-U clears the line after each.
// Prints {"ws":{"p50_ms","p95_ms",...},"poll":{...}}.
import { launch, env, signIn, percentile } from './launch.mjs';

const base = env('SCALEBOX_URL');
const token = env('SCALEBOX_TOKEN');
const vmId = env('VM_ID');
const samples = Number(env('SAMPLES', '50'));

const browser = await launch();
let result;
try {
  const context = await browser.newContext();
  await signIn(context, base, token);
  const page = await context.newPage();
  await page.goto(new URL('/health', base).href); // any page of the origin, without the app
  result = await page.evaluate(async ({ id, samples }) => {
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    const chars = 'abcdefghijklmnopqrstuvwxyz';
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/vms/${encodeURIComponent(id)}/console/ws`);
    ws.binaryType = 'arraybuffer';
    let listener = null;
    let closed = null;
    ws.onmessage = (e) => listener?.(typeof e.data === 'string' ? e.data : dec.decode(new Uint8Array(e.data), { stream: true }));
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onclose = (e) => {
        closed = `the console closed (code ${e.code}): ${e.reason || 'no reason given'}`;
        reject(new Error(closed));
      };
    });
    await sleep(2000); // the history arrives first
    const send = (s) => ws.send(enc.encode(s));
    send('\x15');
    await sleep(300);

    const viaWs = [];
    let wsTimeouts = 0;
    for (let i = 0; i < samples && !closed; i++) {
      const ch = chars[i % chars.length];
      const echoed = new Promise((resolve) => (listener = (text) => text.includes(ch) && resolve(true)));
      const t0 = performance.now();
      send(ch);
      if (await Promise.race([echoed, sleep(5000).then(() => false)])) viaWs.push(performance.now() - t0);
      else wsTimeouts++;
      listener = null;
      send('\x15');
      await sleep(150);
    }

    const tail = async () => {
      const res = await fetch(`/vms/${encodeURIComponent(id)}/console`, { credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) throw new Error(`GET /vms/${id}/console answered ${res.status}: ${await res.text()}`);
      return (await res.text()).slice(-256);
    };
    const viaPoll = [];
    let pollTimeouts = 0;
    for (let i = 0; i < samples && !closed; i++) {
      const ch = chars[(i + 7) % chars.length];
      const before = await tail();
      const t0 = performance.now();
      send(ch);
      let seen = false;
      for (let k = 1; !seen && performance.now() - t0 < 5000; k++) {
        const now = await tail();
        seen = now !== before && now.endsWith(ch);
        if (!seen) await sleep(Math.max(0, t0 + k * 50 - performance.now()));
      }
      if (seen) viaPoll.push(performance.now() - t0);
      else pollTimeouts++;
      send('\x15');
      await sleep(150);
    }
    ws.close(1000, 'benchmark done');
    return { viaWs, wsTimeouts, viaPoll, pollTimeouts, closed };
  }, { id: vmId, samples });
} catch (e) {
  console.error(`FAIL ${e.message}`);
  await browser.close();
  process.exit(1);
}
await browser.close();

const summary = (times, timeouts) => ({
  p50_ms: percentile(times, 50), p95_ms: percentile(times, 95), samples: times.length, timeouts,
});
console.log(JSON.stringify({ ws: summary(result.viaWs, result.wsTimeouts), poll: summary(result.viaPoll, result.pollTimeouts) }));
if (result.closed) console.error(`FAIL ${result.closed}`);
if (result.closed || result.viaWs.length < samples / 2 || result.viaPoll.length < samples / 2) {
  console.error(`FAIL too few echoes seen (ws ${result.viaWs.length}/${samples}, poll ${result.viaPoll.length}/${samples})`);
  process.exit(1);
}
