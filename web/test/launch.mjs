// Launches Debian's chromium through playwright-core (no browser is ever downloaded), and small
// helpers shared by the browser tests.
import { chromium } from 'playwright-core';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The value of a required environment variable; exits with a message when it is missing. */
export function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    console.error(`FAIL: environment variable ${name} is required`);
    process.exit(2);
  }
  return v;
}

/** Signs a browser context in by POST /session (its cookie jar is the context's). */
export async function signIn(context, base, token) {
  const res = await context.request.post(new URL('/session', base).href, { data: { token } });
  if (res.status() !== 204 && !res.ok()) throw new Error(`POST /session answered ${res.status()}: ${await res.text()}`);
}

/** Percentile (0..100) of a list of numbers, nearest rank. */
export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return null;
  return Math.round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] * 10) / 10;
}
