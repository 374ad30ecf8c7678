// One error group: what it says, where, how often, why it got its priority, what remediation did
// about it, and the kubectl commands to look further.
import { ApiError } from '../api.js';
import { clear, errorBox, h, outcomeChip, priorityBadge, section, statusChip, svg, table, throttle, timeEl } from '../dom.js';
import { approvalsList, lastOutcomeBadge, runNowControl } from '../remediation-controls.js';
import { absoluteTime, bucketize, formatCount } from '../format.js';
import { kubectlCommands } from '../kubectl.js';
import { notificationsSection } from '../notifications-section.js';

const BUCKETS = 24;

function countsChart(group) {
  const points = group.occurrences.map((o) => ({ at: Date.parse(o.at), count: o.count })).filter((p) => !Number.isNaN(p.at));
  if (points.length === 0) return h('p', { class: 'muted' }, 'No occurrences are kept for this group.');
  const to = Math.max(Date.now(), ...points.map((p) => p.at));
  const from = Math.min(to - 3_600_000, ...points.map((p) => p.at));
  const counts = bucketize(points, from, to, BUCKETS);
  const max = Math.max(1, ...counts);
  const width = 480;
  const height = 120;
  const bar = width / BUCKETS;
  const span = (to - from) / BUCKETS;
  const label = `Occurrences over time: ${formatCount(counts.reduce((a, b) => a + b, 0))} in the last ${points.length} recorded occurrence${points.length === 1 ? '' : 's'}, from ${absoluteTime(new Date(from).toISOString())} to ${absoluteTime(new Date(to).toISOString())}.`;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height + 2}`, class: 'chart', role: 'img', 'aria-label': label },
    svg('line', { x1: 0, y1: height + 1, x2: width, y2: height + 1, class: 'axis' }),
    counts.map((c, i) => {
      const hgt = c === 0 ? 0 : Math.max(2, (c / max) * height);
      return svg('rect', { x: i * bar + 1, y: height - hgt, width: bar - 2, height: hgt, class: 'bar' },
        svg('title', null, `${formatCount(c)} between ${absoluteTime(new Date(from + i * span).toISOString())} and ${absoluteTime(new Date(from + (i + 1) * span).toISOString())}`));
    }));
  return h('figure', { class: 'chart-figure' }, chart, h('figcaption', { class: 'muted' }, label));
}

function labelsTable(labels) {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return table({
    id: 'labels',
    columns: [{ label: 'Label' }, { label: 'Value' }],
    rows: entries.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', { class: 'wrap' }, v))),
    empty: 'No labels.',
  });
}

function occurrencesTable(occurrences) {
  const now = Date.now();
  return table({
    id: 'occurrences',
    columns: [{ label: 'When' }, { label: 'Channel' }, { label: 'Count' }, { label: 'Message' }],
    rows: occurrences.map((o) => h('tr', null,
      h('td', null, timeEl(o.at, now)), h('td', null, o.channel), h('td', { class: 'num' }, formatCount(o.count)),
      h('td', { class: 'wrap' }, o.message))),
    empty: 'No occurrences recorded.',
  });
}

function why(group, base) {
  const w = group.why ?? { matched: group.rule, tried: [] };
  const head = w.matched
    ? h('p', null, 'Matched rule ', h('a', { href: `${base}/rules#rule-${encodeURIComponent(w.matched)}` }, w.matched), `, which assigns ${group.priority}.`)
    : h('p', null, `No rule matched, so it ranks ${group.priority} by default and nothing is remediated.`);
  const tried = w.tried ?? [];
  return [
    head,
    tried.length
      ? h('div', null, h('p', null, 'Rules tried before it, with the first check that failed:'),
        h('ol', { class: 'tried' }, tried.map((t) => h('li', null, h('code', null, t.rule), ` — ${t.failed}`))))
      : h('p', { class: 'muted' }, w.matched ? 'It was the first rule that applied.' : 'No rules were tried.'),
  ];
}

function remediationTable(group, base) {
  const now = Date.now();
  return [
    group.remediation ? h('p', null, `Rule action: `, h('code', null, group.remediation.action),
      group.remediation.lastOutcome ? [' · last outcome ', lastOutcomeBadge(group)] : '') : null,
    table({
      id: 'remediation-history',
      columns: [{ label: 'When' }, { label: 'Outcome' }, { label: 'Action' }, { label: 'Target' }, { label: 'Reason' }, { label: 'Message' }, { label: 'By' }],
      rows: (group.remediations ?? []).map((e) => h('tr', null,
        h('td', null, timeEl(e.at, now)), h('td', null, outcomeChip(e.outcome)), h('td', null, e.action),
        h('td', null, `${e.namespace}/${e.target}`), h('td', null, e.reason || '–'), h('td', { class: 'wrap' }, e.message || '–'),
        h('td', null, e.actor || '–'))),
      empty: 'No remediation was attempted for this error.',
    }),
    h('p', null, h('a', { href: `${base}/history?group_id=${group.id}` }, 'See this in the remediation history')),
  ];
}

function copyButton(text) {
  const button = h('button', { type: 'button', class: 'copy' }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select and copy';
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 2000);
  });
  return button;
}

function digDeeper(group) {
  const { commands, skipped } = kubectlCommands(group);
  return [
    h('ul', { class: 'commands', id: 'kubectl' }, commands.map((c) => h('li', null,
      h('span', { class: 'command-label' }, c.label),
      h('span', { class: 'command-line' }, h('code', null, c.command), copyButton(c.command))))),
    skipped.map((s) => h('p', { class: 'muted' }, s)),
  ];
}

function render(group, base) {
  const now = Date.now();
  return [
    h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' }, h('a', { href: `${base}/errors` }, 'Errors'), ` / #${group.id}`),
    h('h1', { class: 'detail-title' }, priorityBadge(group.priority), ' ', group.title || '(untitled)'),
    h('dl', { class: 'facts' },
      h('div', null, h('dt', null, 'Status'), h('dd', null, statusChip(group.status))),
      h('div', null, h('dt', null, 'Source'), h('dd', null, group.source)),
      h('div', null, h('dt', null, 'Namespace'), h('dd', null, group.namespace || '–')),
      h('div', null, h('dt', null, 'Workload'), h('dd', null, group.workload || '–')),
      h('div', null, h('dt', null, 'Pod'), h('dd', null, group.pod || '–')),
      h('div', null, h('dt', null, 'Container'), h('dd', null, group.container || '–')),
      h('div', null, h('dt', null, 'Count'), h('dd', { id: 'group-count' }, formatCount(group.count))),
      h('div', null, h('dt', null, 'First seen'), h('dd', null, timeEl(group.firstSeen, now))),
      h('div', null, h('dt', null, 'Last seen'), h('dd', null, timeEl(group.lastSeen, now))),
      group.resolvedAt ? h('div', null, h('dt', null, 'Resolved'), h('dd', null, timeEl(group.resolvedAt, now))) : null),
    section('Message', h('pre', { class: 'message' }, group.message || '(empty)')),
    h('div', { class: 'grid-2' },
      section('Counts over time', countsChart(group)),
      section(`Why ${group.priority}`, ...why(group, base))),
    section('Remediation history', ...remediationTable(group, base)),
    section('Dig deeper', ...digDeeper(group)),
    section('Labels', labelsTable(group.labels)),
    section('Recent occurrences', occurrencesTable(group.occurrences ?? [])),
  ];
}

export async function mount(ctx) {
  const id = ctx.params[0];
  const body = h('div', { class: 'detail' });
  ctx.container.append(body);

  async function draw() {
    let group;
    // Deliveries are secondary: the page still renders when they cannot be listed.
    const notifications = ctx.api.get(`/api/notifications?group_id=${encodeURIComponent(id)}&page_size=20`).catch(() => null);
    const approvals = ctx.api.get('/api/remediations', { state: 'awaiting-approval', group_id: id, page_size: '20' }).catch(() => null);
    try {
      group = await ctx.api.get(`/api/errors/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        clear(body, h('h1', null, 'Error not found'),
          h('p', null, `There is no error group ${id}. It may have been removed by retention.`),
          h('p', null, h('a', { href: `${ctx.base}/errors` }, 'Back to the errors')));
        return;
      }
      if (err instanceof ApiError && err.status === 401) throw err;
      clear(body, h('h1', null, 'Error'), errorBox(err));
      return;
    }
    if (!ctx.isCurrent()) return;
    ctx.setTitle(`${group.priority} ${group.title}`);
    clear(body, ...render(group, ctx.base));
    const [sent, waiting] = await Promise.all([notifications, approvals]);
    if (!ctx.isCurrent()) return;
    // Act on this error: what waits for approval, and running its rule's action now.
    const mineWaiting = (waiting?.remediations ?? []).filter((r) => r.groupId === group.id);
    const actions = section('Act on this error',
      mineWaiting.length ? [h('h3', null, 'Waiting for approval'), approvalsList(ctx, mineWaiting, () => refresh())] : null,
      runNowControl(ctx, group, () => refresh()));
    actions.id = 'act-section';
    const history = [...body.querySelectorAll('section')].find((s) => s.querySelector('#remediation-history'));
    if (history) history.before(actions); else body.append(actions);
    if (sent) body.append(notificationsSection(sent));
  }

  await draw();
  const refresh = throttle(() => { draw().catch(() => {}); }, 1000);
  const mine = Number(id);
  return {
    onMessage(msg) {
      if ((msg.type === 'group' && msg.group.id === mine) || (msg.type === 'remediation' && msg.entry.groupId === mine)) refresh();
    },
    refresh,
    dispose: () => refresh.stop(),
  };
}
