// DOM helpers. Data only ever becomes text nodes or attribute values: there is no HTML-string path
// (the CSP's Trusted Types would reject one), because log text and labels are attacker-controlled.
import { absoluteTime, PRIORITY_NAMES, relativeTime } from './format.js';

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'open']);

function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

/** h('a', {href, class, onclick}, 'text', otherNode, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (PROPS.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

/** Replaces the children; null/false children are skipped (native append would print "null"). */
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function timeEl(iso, now = Date.now()) {
  if (!iso) return h('span', { class: 'muted' }, '–');
  return h('time', { datetime: iso, title: absoluteTime(iso) }, relativeTime(iso, now));
}

export function priorityBadge(priority) {
  return h('span', { class: `badge priority-${String(priority).toLowerCase()}`, title: PRIORITY_NAMES[priority] ?? '' }, priority);
}

export function statusChip(status) {
  return h('span', { class: `chip status-${status}` }, status);
}

export function outcomeChip(outcome) {
  return h('span', { class: `chip outcome-${outcome}` }, outcome);
}

/** A scrollable table; `columns` are [{label, sort?: {key, state: 'ascending'|'descending'|null, onSort}}]. */
export function table({ caption, columns, rows, empty, id }) {
  const head = h('tr', null, columns.map((c) => {
    if (!c.sort) return h('th', { scope: 'col', class: c.class }, c.label);
    return h('th', { scope: 'col', class: c.class, 'aria-sort': c.sort.state ?? 'none' },
      h('button', { type: 'button', class: 'sort', onclick: () => c.sort.onSort(c.sort.key) },
        c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, c.sort.state === 'ascending' ? ' ▲' : c.sort.state === 'descending' ? ' ▼' : '')));
  }));
  const body = rows.length
    ? rows
    : [h('tr', { class: 'empty' }, h('td', { colspan: columns.length }, empty ?? 'Nothing here yet.'))];
  return h('div', { class: 'table-wrap' },
    h('table', { id }, caption ? h('caption', null, caption) : null, h('thead', null, head), h('tbody', null, body)));
}

export function section(title, ...children) {
  return h('section', { class: 'panel' }, h('h2', null, title), ...children);
}

/** A `<label>` wrapping a control, so the whole text is the accessible name. */
export function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control, hint ? h('span', { class: 'hint' }, hint) : null);
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

export function errorBox(err) {
  return h('div', { class: 'error-box', role: 'alert' },
    h('strong', null, err?.status ? `Error ${err.status}: ` : 'Error: '), err?.message ?? String(err));
}

/** Coalesces bursts: runs `fn` at most once per `ms`, always eventually after the last call. */
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  let stopped = false;
  const run = () => {
    timer = null;
    if (stopped) return;
    last = Date.now();
    fn();
  };
  const call = () => {
    if (timer !== null || stopped) return;
    timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  call.stop = () => { stopped = true; if (timer !== null) clearTimeout(timer); };
  return call;
}

export function pager({ page, pageSize, total, onPage }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return h('nav', { class: 'pager', 'aria-label': 'Pagination' },
    h('button', { type: 'button', disabled: page <= 1, onclick: () => onPage(page - 1) }, '‹ Previous'),
    h('span', { class: 'pager-status' }, `Page ${Math.min(page, pages)} of ${pages}`),
    h('button', { type: 'button', disabled: page >= pages, onclick: () => onPage(page + 1) }, 'Next ›'));
}
