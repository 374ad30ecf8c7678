// Filter state <-> URL query, so a filtered view is a link someone can share. The URL parameters are
// exactly the API's, so the page forwards them unchanged. Pure; unit-tested under Node.

export const PAGE_SIZES = [25, 50, 100, 200];

export const ERROR_DEFAULTS = Object.freeze({
  priority: [], namespace: '', pod: '', rule: '', source: '', status: '', q: '', sort: '', order: '', page: 1, page_size: 50,
});

export const HISTORY_DEFAULTS = Object.freeze({
  outcome: '', reason: '', namespace: '', rule: '', group_id: '', page: 1, page_size: 50,
});

/** The order each sort key uses when none is given (mirrors the store). */
export const NATURAL_ORDER = { priority: 'asc', lastSeen: 'desc', firstSeen: 'desc', count: 'desc' };

function positive(text, fallback) {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 ? n : fallback;
}

/** URLSearchParams → a filter object with every key of `defaults`. */
export function readFilters(params, defaults) {
  const out = {};
  for (const [key, def] of Object.entries(defaults)) {
    const raw = params.get(key);
    if (Array.isArray(def)) out[key] = raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : [];
    else if (typeof def === 'number') out[key] = positive(raw, def);
    else out[key] = raw ?? def;
  }
  return out;
}

/** A filter object → URLSearchParams with only the values that differ from the defaults. */
export function toParams(filters, defaults) {
  const params = new URLSearchParams();
  for (const [key, def] of Object.entries(defaults)) {
    const v = filters[key];
    if (Array.isArray(def)) {
      if (Array.isArray(v) && v.length) params.set(key, v.join(','));
    } else if (v !== undefined && v !== null && v !== '' && v !== def) {
      params.set(key, String(v));
    }
  }
  return params;
}

/** Next sort state when a column header is activated: a new column starts in its natural order. */
export function nextSort(filters, key) {
  const natural = NATURAL_ORDER[key] ?? 'desc';
  const current = filters.sort || 'priority';
  if (current !== key) return { sort: key, order: '' };
  const flipped = (filters.order || natural) === 'asc' ? 'desc' : 'asc';
  return { sort: key, order: flipped === natural ? '' : flipped };
}

const lower = (s) => String(s ?? '').toLowerCase();

/**
 * Could this group belong in the filtered list? Used to decide whether a live update is worth a
 * refetch; the server stays the judge of what is shown.
 */
export function groupMatches(group, f) {
  if (f.priority.length && !f.priority.includes(group.priority)) return false;
  if (f.namespace && group.namespace !== f.namespace) return false;
  if (f.pod && group.pod !== f.pod) return false;
  if (f.rule && group.rule !== f.rule) return false;
  if (f.source && group.source !== f.source) return false;
  if (f.status && group.status !== f.status) return false;
  if (f.q) {
    const q = lower(f.q);
    if (![group.title, group.message, group.pod, group.workload, group.namespace].some((s) => lower(s).includes(q))) return false;
  }
  return true;
}

export function entryMatches(entry, f) {
  if (f.outcome && entry.outcome !== f.outcome) return false;
  if (f.reason && entry.reason !== f.reason) return false;
  if (f.namespace && entry.namespace !== f.namespace) return false;
  if (f.rule && entry.rule !== f.rule) return false;
  if (f.group_id && String(entry.groupId) !== String(f.group_id)) return false;
  return true;
}
