// Talking to the Scalebox API: JSON over fetch with the session cookie, and the /events stream.

/** An answer that was not 2xx: `message` is the API's own `error` text. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let onUnauthorized = () => {};

/** Called whenever a request gets a 401 (the session expired or was never made). */
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

/** Calls the API; resolves to the parsed JSON (or null for an empty answer), rejects with an ApiError. */
export async function api(method, path, body, { quiet401 = false } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `${method} ${path}: the server could not be reached (${e.message})`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text.trim() || `${method} ${path}: HTTP ${res.status} ${res.statusText}`;
    try {
      const json = JSON.parse(text);
      if (json && typeof json.error === 'string') message = json.error;
    } catch {
      // not JSON: keep the text as it came
    }
    if (res.status === 401 && !quiet401) onUnauthorized(message);
    throw new ApiError(res.status, message);
  }
  if (!text) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? JSON.parse(text) : text;
}

/**
 * Subscribes to GET /events. `handlers.open` runs at every (re)connect: the caller reads the state
 * anew then. Returns a function that closes the stream.
 */
export function subscribe(handlers) {
  let source = null;
  let timer = null;
  let closed = false;
  const connect = () => {
    if (closed) return;
    source = new EventSource('/events', { withCredentials: false });
    source.onopen = () => handlers.open?.();
    for (const type of ['vm', 'vm_deleted', 'box']) {
      source.addEventListener(type, (e) => {
        try {
          handlers[type]?.(JSON.parse(e.data));
        } catch (err) {
          handlers.error?.(`Bad ${type} event: ${err.message}`);
        }
      });
    }
    source.addEventListener('cut_off', () => retry(0));
    source.onerror = () => {
      // EventSource retries by itself while it can; once CLOSED (e.g. a 401) we decide.
      if (source.readyState === EventSource.CLOSED) retry(3000);
    };
  };
  const retry = (delay) => {
    if (closed) return;
    source?.close();
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        await api('GET', '/session');
        connect();
      } catch (e) {
        if (e.status !== 401) retry(5000); // a 401 shows the sign-in form; nothing more to do here
      }
    }, delay);
  };
  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}

/** Formatting helpers shared by the pages. */
export const fmt = {
  mib: (m) => (m == null ? '–' : m >= 1024 ? `${(m / 1024).toFixed(m % 1024 ? 1 : 0)} GiB` : `${m} MiB`),
  bytes: (b) => {
    if (b == null) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(b) >= 1024 && i < units.length - 1) {
      b /= 1024;
      i++;
    }
    return `${b.toFixed(i && b < 10 ? 1 : 0)} ${units[i]}`;
  },
  time: (iso) => (iso ? new Date(iso).toLocaleString() : '–'),
};
