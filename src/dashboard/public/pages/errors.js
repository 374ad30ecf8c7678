// Errors: the priority queue. Every filter, the sort and the page live in the URL (same names as the
// API), so the view is shareable and the back button works; live updates refetch the current page.
import { ApiError } from '../api.js';
import { clear, errorBox, field, h, pager, priorityBadge, select, statusChip, table, throttle, timeEl } from '../dom.js';
import { formatCount } from '../format.js';
import { ERROR_DEFAULTS, NATURAL_ORDER, PAGE_SIZES, groupMatches, nextSort, readFilters, toParams } from '../query-state.js';

const SORTABLE = { priority: 'Priority', count: 'Count', firstSeen: 'First seen', lastSeen: 'Last seen' };

function filterForm(filters, ruleNames, onChange, onReset) {
  const text = (name, label, attrs = {}) => field(label, h('input', { name, value: filters[name], autocomplete: 'off', ...attrs }));
  const ruleOptions = [['', 'Any rule'], ...ruleNames.map((n) => [n, n])];
  if (filters.rule && !ruleNames.includes(filters.rule)) ruleOptions.push([filters.rule, filters.rule]);
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter errors' },
    h('fieldset', { class: 'priorities' }, h('legend', null, 'Priority'),
      ['P1', 'P2', 'P3', 'P4'].map((p) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'priority', value: p, checked: filters.priority.includes(p) }), ` ${p}`))),
    text('namespace', 'Namespace'),
    text('pod', 'Pod'),
    field('Rule', select('rule', ruleOptions, filters.rule)),
    field('Source', select('source', [['', 'Any source'], ['alert', 'Alert'], ['event', 'Kubernetes Event']], filters.source)),
    field('Status', select('status', [['', 'Any status'], ['firing', 'Firing'], ['resolved', 'Resolved']], filters.status)),
    text('q', 'Search text', { type: 'search', placeholder: 'message, pod, workload…' }),
    field('Per page', select('page_size', PAGE_SIZES.map((n) => [String(n), String(n)]), String(filters.page_size))),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('button', { type: 'button', onclick: onReset }, 'Reset')));

  const read = () => {
    const data = new FormData(form);
    return {
      priority: data.getAll('priority').map(String),
      namespace: String(data.get('namespace') ?? '').trim(),
      pod: String(data.get('pod') ?? '').trim(),
      rule: String(data.get('rule') ?? ''),
      source: String(data.get('source') ?? ''),
      status: String(data.get('status') ?? ''),
      q: String(data.get('q') ?? '').trim(),
      page_size: Number(data.get('page_size')) || ERROR_DEFAULTS.page_size,
    };
  };
  let typing = null;
  form.addEventListener('submit', (ev) => { ev.preventDefault(); onChange(read()); });
  // Checkboxes and selects apply at once; text applies on Enter or after a pause in typing.
  form.addEventListener('change', (ev) => { if (ev.target.tagName !== 'INPUT' || ev.target.type === 'checkbox') onChange(read()); });
  form.addEventListener('input', (ev) => {
    if (ev.target.tagName !== 'INPUT' || ev.target.type === 'checkbox') return;
    clearTimeout(typing);
    typing = setTimeout(() => onChange(read()), 500);
  });
  return form;
}

function rows(groups, base) {
  const now = Date.now();
  return groups.map((g) => h('tr', { dataset: { id: g.id } },
    h('td', null, priorityBadge(g.priority)),
    h('td', { class: 'error-cell' },
      h('a', { href: `${base}/errors/${g.id}`, class: 'error-title' }, g.title || '(untitled)'),
      h('span', { class: 'message-preview', title: g.message }, g.message)),
    h('td', null, g.namespace || '–'),
    h('td', { class: 'wrap' }, g.workload || g.pod || '–'),
    h('td', null, g.rule ?? h('span', { class: 'muted' }, 'none')),
    h('td', null, g.source),
    h('td', { class: 'num' }, formatCount(g.count)),
    h('td', null, timeEl(g.firstSeen, now)),
    h('td', null, timeEl(g.lastSeen, now)),
    h('td', null, statusChip(g.status))));
}

export async function mount(ctx) {
  let filters = readFilters(ctx.query, ERROR_DEFAULTS);
  const rulesReply = await ctx.api.get('/api/rules').catch((err) => {
    if (err instanceof ApiError && err.status === 401) throw err;
    return { rules: [] };
  });
  const ruleNames = rulesReply.rules.map((r) => r.name);
  const summary = h('p', { class: 'summary', id: 'errors-summary', 'aria-live': 'polite' });
  const results = h('div', { class: 'results' });
  const formSlot = h('div');
  ctx.container.append(h('h1', null, 'Errors'), formSlot, summary, results);

  function apply(next, { resetPage = true } = {}) {
    filters = { ...filters, ...next, ...(resetPage ? { page: 1 } : {}) };
    ctx.setQuery(toParams(filters, ERROR_DEFAULTS));
    void draw();
  }
  function drawForm() {
    formSlot.replaceChildren(filterForm(filters, ruleNames, (next) => apply(next), () => {
      filters = { ...ERROR_DEFAULTS };
      ctx.setQuery(toParams(filters, ERROR_DEFAULTS));
      drawForm();
      void draw();
    }));
  }

  function sortState(key) {
    const current = filters.sort || 'priority';
    if (current !== key) return null;
    return (filters.order || NATURAL_ORDER[key]) === 'asc' ? 'ascending' : 'descending';
  }

  let drawing = 0;
  async function draw() {
    const mine = ++drawing;
    let reply;
    try {
      reply = await ctx.api.get('/api/errors', toParams(filters, ERROR_DEFAULTS));
    } catch (err) {
      if (mine !== drawing || !ctx.isCurrent()) return;
      if (err instanceof ApiError && err.status === 401) throw err;
      summary.textContent = '';
      clear(results, errorBox(err), h('p', null, h('a', { href: `${ctx.base}/errors` }, 'Clear all filters')));
      return;
    }
    if (mine !== drawing || !ctx.isCurrent()) return;
    const { errors, total, page, pageSize } = reply;
    const pages = Math.max(1, Math.ceil(total / pageSize));
    summary.textContent = total === 0 ? 'No matching errors.' : `${formatCount(total)} error group${total === 1 ? '' : 's'} · page ${page} of ${pages}`;
    const filtered = toParams({ ...filters, page: 1, page_size: ERROR_DEFAULTS.page_size, sort: '', order: '' }, ERROR_DEFAULTS).toString() !== '';
    const columns = [
      { label: 'Priority', sort: { key: 'priority', state: sortState('priority'), onSort } },
      { label: 'Error' }, { label: 'Namespace' }, { label: 'Workload / pod' }, { label: 'Rule' }, { label: 'Source' },
      ...['count', 'firstSeen', 'lastSeen'].map((key) => ({ label: SORTABLE[key], sort: { key, state: sortState(key), onSort } })),
      { label: 'Status' },
    ];
    let empty = filtered ? 'No errors match these filters.' : 'No errors recorded yet. Point Alertmanager, Prometheus or the Loki ruler at this server to see them here.';
    if (total > 0 && errors.length === 0) empty = `Page ${page} is past the end (${pages} page${pages === 1 ? '' : 's'}).`;
    clear(results, 
      table({ id: 'errors-table', caption: 'Error groups, most urgent first', columns, rows: rows(errors, ctx.base), empty }),
      total > pageSize || page > 1 ? pager({ page, pageSize, total, onPage: (p) => apply({ page: p }, { resetPage: false }) }) : null);
  }
  function onSort(key) {
    apply(nextSort(filters, key));
  }

  drawForm();
  await draw();
  let updates = 0;
  const refresh = throttle(() => {
    // One announcement per redraw, however many updates a burst brought.
    if (updates > 0) ctx.announce(`${updates} error update${updates === 1 ? '' : 's'} received`);
    updates = 0;
    draw().catch(() => {});
  }, 1000);
  return {
    onMessage(msg) {
      if (msg.type !== 'group' || !groupMatches(msg.group, filters)) return;
      updates++;
      refresh();
    },
    refresh,
    dispose: () => refresh.stop(),
  };
}
