// History: the remediation audit (acted, dry-run, skipped with the guard's reason, failed, escalated),
// filterable by outcome and reason, with the filters in the URL.
import { ApiError } from '../api.js';
import { clear, errorBox, field, h, outcomeChip, pager, select, table, throttle, timeEl } from '../dom.js';
import { formatCount } from '../format.js';
import { suspensionsList } from '../remediation-controls.js';
import { HISTORY_DEFAULTS, PAGE_SIZES, entryMatches, readFilters, toParams } from '../query-state.js';

const OUTCOMES = ['acted', 'dry-run', 'skipped', 'failed', 'escalated', 'awaiting-approval', 'approved', 'rejected', 'expired', 'effective', 'ineffective'];
const COMMON_REASONS = ['disabled', 'excluded-namespace', 'opted-out', 'max-attempts', 'cooldown', 'budget-exhausted', 'dry-run', 'pod-not-found', 'owner-not-found', 'workload-not-found', 'no-target', 'at-max-replicas', 'at-min-replicas'];

function filterForm(filters, onChange) {
  const text = (name, label, attrs = {}) => field(label, h('input', { name, value: filters[name], autocomplete: 'off', ...attrs }));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter remediation history' },
    field('Outcome', select('outcome', [['', 'Any outcome'], ...OUTCOMES.map((o) => [o, o])], filters.outcome)),
    text('reason', 'Reason', { list: 'reason-suggestions', placeholder: 'cooldown, budget…' }),
    h('datalist', { id: 'reason-suggestions' }, COMMON_REASONS.map((r) => h('option', { value: r }))),
    text('namespace', 'Namespace'),
    text('rule', 'Rule'),
    text('group_id', 'Error group #', { inputmode: 'numeric', pattern: '[0-9]*', size: 8 }),
    field('Per page', select('page_size', PAGE_SIZES.map((n) => [String(n), String(n)]), String(filters.page_size))),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('a', { href: location.pathname, class: 'button' }, 'Reset')));
  const read = () => {
    const d = new FormData(form);
    const s = (k) => String(d.get(k) ?? '').trim();
    return { outcome: s('outcome'), reason: s('reason'), namespace: s('namespace'), rule: s('rule'), group_id: s('group_id'), page_size: Number(s('page_size')) || 50 };
  };
  let typing = null;
  form.addEventListener('submit', (ev) => { ev.preventDefault(); onChange(read()); });
  form.addEventListener('change', (ev) => { if (ev.target.tagName === 'SELECT') onChange(read()); });
  form.addEventListener('input', (ev) => {
    if (ev.target.tagName !== 'INPUT') return;
    clearTimeout(typing);
    typing = setTimeout(() => onChange(read()), 500);
  });
  return form;
}

function rows(entries, base) {
  const now = Date.now();
  return entries.map((e) => h('tr', { dataset: { id: e.id } },
    h('td', null, timeEl(e.at, now)),
    h('td', null, outcomeChip(e.outcome)),
    h('td', null, e.action),
    h('td', { class: 'wrap' }, `${e.namespace}/${e.target}`),
    h('td', null, e.rule),
    h('td', null, e.reason || '–'),
    h('td', { class: 'wrap' }, e.message || '–'),
    h('td', null, e.actor || '–'),
    h('td', null, e.groupId ? h('a', { href: `${base}/errors/${e.groupId}` }, `#${e.groupId}`) : '–')));
}

export async function mount(ctx) {
  let filters = readFilters(ctx.query, HISTORY_DEFAULTS);
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' });
  const results = h('div');
  const suspended = h('div', { id: 'suspensions-section' });
  async function drawSuspensions() {
    const reply = await ctx.api.get('/api/suspensions', { active: 'true' }).catch(() => null);
    if (!ctx.isCurrent() || !reply) return;
    clear(suspended, h('h2', null, 'Suspended auto-remediation'), suspensionsList(ctx, reply.suspensions, () => { void drawSuspensions(); void draw(); }));
  }
  // The server's own vocabulary of reasons for the filter's suggestions (the built-in list otherwise).
  ctx.api.get('/api/remediation-reasons').then((r) => {
    const list = ctx.container.querySelector('#reason-suggestions');
    if (list && ctx.isCurrent()) list.replaceChildren(...[...r.skip, ...r.outcome].map((v) => h('option', { value: v })));
  }, () => {});
  ctx.container.append(h('h1', null, 'Remediation history'), suspended,
    filterForm(filters, (next) => apply({ ...next, page: 1 })), summary, results);

  function apply(next) {
    filters = { ...filters, ...next };
    ctx.setQuery(toParams(filters, HISTORY_DEFAULTS));
    void draw();
  }

  let drawing = 0;
  async function draw() {
    const mine = ++drawing;
    let reply;
    try {
      reply = await ctx.api.get('/api/history', toParams(filters, HISTORY_DEFAULTS));
    } catch (err) {
      if (mine !== drawing || !ctx.isCurrent()) return;
      if (err instanceof ApiError && err.status === 401) throw err;
      summary.textContent = '';
      clear(results, errorBox(err));
      return;
    }
    if (mine !== drawing || !ctx.isCurrent()) return;
    const { entries, total, page, pageSize } = reply;
    summary.textContent = total === 0 ? 'No matching decisions.' : `${formatCount(total)} decision${total === 1 ? '' : 's'} · page ${page} of ${Math.max(1, Math.ceil(total / pageSize))}`;
    clear(results, 
      table({
        id: 'history-table',
        caption: 'Remediation decisions, newest first',
        columns: ['When', 'Outcome', 'Action', 'Target', 'Rule', 'Reason', 'Message', 'By', 'Error'].map((label) => ({ label })),
        rows: rows(entries, ctx.base),
        empty: toParams({ ...filters, page: 1, page_size: 50 }, HISTORY_DEFAULTS).toString()
          ? 'No decisions match these filters.'
          : 'No remediation decisions yet. They appear here when a rule with an action matches.',
      }),
      total > pageSize || page > 1 ? pager({ page, pageSize, total, onPage: (p) => apply({ page: p }) }) : null);
  }

  await Promise.all([draw(), drawSuspensions()]);
  const refresh = throttle(() => { draw().catch(() => {}); void drawSuspensions(); }, 1000);
  return {
    onMessage(msg) {
      if (msg.type === 'remediation' && entryMatches(msg.entry, filters)) {
        refresh();
        ctx.announce(`Remediation ${msg.entry.outcome}: ${msg.entry.action} on ${msg.entry.target}`);
      }
    },
    refresh,
    dispose: () => refresh.stop(),
  };
}
