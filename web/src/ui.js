// Shared bits of the page: the html tag, the banners, and the hand-made SVG line graph.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

let setBanner = () => {};

/** The one red error banner (#error) and green notice (#notice) at the top of the page. */
export const banner = {
  bind(fn) {
    setBanner = fn;
  },
  error(text) {
    setBanner({ kind: 'error', text: String(text) });
  },
  notice(text) {
    setBanner({ kind: 'notice', text: String(text) });
  },
  clear() {
    setBanner(null);
  },
};

/** Runs an API call and shows its failure in the banner; resolves to its result, or undefined on failure. */
export async function attempt(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e.status !== 401) banner.error(e.message);
    return undefined;
  }
}

const W = 320;
const H = 90;
const COLORS = ['#2364aa', '#d1495b', '#3da35d', '#8f6593'];

/**
 * A small line graph of the last hour. `series` is [{label, points: [[ms, value], ...]}]; `format`
 * prints a value.
 */
export function Graph({ title, series, format, now = Date.now(), span = 3600_000 }) {
  const all = series.flatMap((s) => s.points.map((p) => p[1]));
  const max = Math.max(...all, 0) * 1.1 || 1;
  const x = (t) => (((t - (now - span)) / span) * W).toFixed(1);
  const y = (v) => (H - (v / max) * H).toFixed(1);
  return html`<figure class="graph" data-test=${'graph-' + title.toLowerCase()}>
    <figcaption>
      <b>${title}</b>
      ${series.map((s, i) => {
        const last = s.points[s.points.length - 1];
        return html` <span class="legend" style=${'color:' + COLORS[i]}>${s.label}: ${last ? format(last[1]) : '–'}</span>`;
      })}
    </figcaption>
    <svg viewBox=${`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label=${title}>
      <line x1="0" y1=${H} x2=${W} y2=${H} class="axis" />
      ${series.map(
        (s, i) => html`<polyline fill="none" stroke=${COLORS[i]} stroke-width="1.5" vector-effect="non-scaling-stroke"
          points=${s.points.map((p) => `${x(p[0])},${y(p[1])}`).join(' ')} />`,
      )}
    </svg>
    <div class="scale"><span>−60 min</span><span>max ${format(max / 1.1)}</span><span>now</span></div>
  </figure>`;
}
