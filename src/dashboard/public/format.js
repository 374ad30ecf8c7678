// Pure formatting helpers (no DOM), shared by the pages and unit-tested under Node.

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
];

/** "3 min ago", "in 2 h", "just now"; '' for a missing time. */
export function relativeTime(iso, now) {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const diff = now - t;
  const abs = Math.abs(diff);
  if (abs < 5000) return 'just now';
  for (const [unit, ms] of UNITS) {
    if (abs >= ms) {
      const n = Math.floor(abs / ms);
      return diff >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
    }
  }
  return 'just now';
}

/** Full local date and time for tooltips and tables. */
export function absoluteTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

export function formatCount(n) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en-US') : '–';
}

/** Cooldowns and intervals: 90000 → "1m30s". */
export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return '0s';
  const parts = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, s] of [['h', 3600], ['m', 60], ['s', 1]]) {
    const n = Math.floor(rest / s);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * s;
  }
  return parts.join('') || '0s';
}

/**
 * Sums `count` of timed points into `n` equal buckets over [from, to]. Points outside the window are
 * ignored rather than clamped, so a bar never claims occurrences from outside its interval.
 */
export function bucketize(points, from, to, n) {
  const out = new Array(n).fill(0);
  const span = Math.max(1, to - from);
  for (const p of points) {
    if (!(p.at >= from && p.at <= to)) continue;
    const i = Math.min(n - 1, Math.floor(((p.at - from) / span) * n));
    out[i] += typeof p.count === 'number' && p.count > 0 ? p.count : 1;
  }
  return out;
}

/** "P1" → "critical" (the original Kube Sentinel's names, shown next to the short form). */
export const PRIORITY_NAMES = { P1: 'critical', P2: 'high', P3: 'medium', P4: 'low' };

/** `key=value` lines (or `key: value`) → object; blank lines and `#` comments skipped. */
export function parseLabelLines(text) {
  const labels = {};
  const errors = [];
  String(text ?? '').split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (!m) errors.push(`line ${i + 1}: expected key=value`);
    else labels[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  });
  return { labels, errors };
}
