// Overview: what is on fire (counts, newest P1/P2), how busy ingest is, what remediation did, and
// whether this replica and the leader are healthy.
import { clear, h, outcomeChip, priorityBadge, section, statusChip, table, throttle, timeEl } from '../dom.js';
import { approvalsList } from '../remediation-controls.js';
import { formatCount, PRIORITY_NAMES } from '../format.js';

const PRIORITIES = ['P1', 'P2', 'P3', 'P4'];

async function load(api, base) {
  const readiness = fetch(`${base}/readyz`, { cache: 'no-store' })
    .then((r) => r.json())
    .catch(() => ({ status: 'unreachable', checks: {} }));
  const [stats, urgent, recent, ready] = await Promise.all([
    api.get('/api/stats'),
    api.get('/api/errors', { priority: 'P1,P2', sort: 'lastSeen', page_size: '8' }),
    api.get('/api/history', { page_size: '5' }),
    readiness,
  ]);
  return { stats, urgent, recent, ready };
}

function priorityCards(stats, base) {
  return h('ul', { class: 'cards', 'aria-label': 'Error groups by priority' }, PRIORITIES.map((p) =>
    h('li', { class: `card priority-card priority-${p.toLowerCase()}` },
      h('a', { href: `${base}/errors?priority=${p}&status=firing`, class: 'card-link' },
        h('span', { class: 'card-title' }, priorityBadge(p), ` ${PRIORITY_NAMES[p]}`),
        h('span', { class: 'big', dataset: { testid: `firing-${p}` } }, formatCount(stats.firingByPriority?.[p] ?? 0)),
        h('span', { class: 'muted' }, `firing · ${formatCount(stats.byPriority?.[p] ?? 0)} total`)))));
}

function urgentList(urgent, base) {
  const now = Date.now();
  return table({
    id: 'urgent',
    columns: [{ label: 'Priority' }, { label: 'Error' }, { label: 'Namespace' }, { label: 'Count' }, { label: 'Last seen' }, { label: 'Status' }],
    rows: urgent.errors.map((g) => h('tr', { dataset: { id: g.id } },
      h('td', null, priorityBadge(g.priority)),
      h('td', null, h('a', { href: `${base}/errors/${g.id}` }, g.title || '(untitled)')),
      h('td', null, g.namespace || '–'),
      h('td', { class: 'num' }, formatCount(g.count)),
      h('td', null, timeEl(g.lastSeen, now)),
      h('td', null, statusChip(g.status)))),
    empty: 'No P1 or P2 errors. Nothing urgent right now.',
  });
}

function stat(label, value, hint) {
  return h('div', { class: 'stat' }, h('dt', null, label), h('dd', null, value, hint ? h('span', { class: 'muted' }, ` ${hint}`) : null));
}

function ingest(stats) {
  const perHour = stats.occurrencesLastHour ?? 0;
  return h('dl', { class: 'stats' },
    stat('Occurrences, last hour', formatCount(perHour), `(≈ ${(perHour / 60).toFixed(1)}/min)`),
    stat('Error groups', formatCount(stats.total), `${formatCount(stats.firing)} firing`),
    stat('From alerts', formatCount(stats.bySource?.alert ?? 0)),
    stat('From Kubernetes Events', formatCount(stats.bySource?.event ?? 0)));
}

function remediation(stats, recent, base) {
  const s = stats.settings ?? {};
  const mode = s.enabled === false ? 'disabled' : s.dryRun ? 'dry-run' : 'enabled';
  const now = Date.now();
  return [
    h('dl', { class: 'stats' },
      stat('Mode', h('span', { class: `chip mode-${mode}` }, mode), `max ${formatCount(s.maxActionsPerHour)} actions/hour`),
      stat('Acted, last hour', formatCount(stats.remediation?.actedLastHour ?? 0)),
      stat('Pending requests', formatCount(stats.remediation?.pending ?? 0)),
      stat('Escalated to a human', formatCount(stats.remediation?.escalated ?? 0))),
    table({
      caption: 'Latest decisions',
      columns: [{ label: 'When' }, { label: 'Outcome' }, { label: 'Action' }, { label: 'Target' }, { label: 'Reason' }],
      rows: recent.entries.map((e) => h('tr', null,
        h('td', null, timeEl(e.at, now)), h('td', null, outcomeChip(e.outcome)), h('td', null, e.action),
        h('td', null, `${e.namespace}/${e.target}`), h('td', null, e.reason || '–'))),
      empty: 'No remediation decisions yet.',
    }),
    h('p', null, h('a', { href: `${base}/history` }, 'Full remediation history')),
  ];
}

function health(stats, ready) {
  const leader = stats.leader;
  const checks = Object.entries(ready.checks ?? {});
  let leaderText;
  if (!leader) leaderText = 'This replica does not run remediation.';
  else if (leader.isLeader) leaderText = 'This replica is the leader and runs remediation.';
  else if (leader.observedHolder) leaderText = `Leader: ${leader.observedHolder}.`;
  else leaderText = 'No leader observed yet.';
  return [
    h('dl', { class: 'stats' },
      stat('This replica', stats.identity || '(unnamed)', `role ${stats.role ?? '?'}`),
      stat('Readiness', h('span', { class: `chip ${ready.status === 'ready' ? 'ok' : 'bad'}` }, ready.status ?? 'unknown')),
      stat('Leadership', leaderText),
      leader ? stat('Lease', leader.healthy === false ? h('span', { class: 'chip bad' }, 'renewal failed') : h('span', { class: 'chip ok' }, 'healthy'),
        leader.lastRenewAt ? `renewed ${new Date(leader.lastRenewAt).toLocaleTimeString()}` : '') : null),
    checks.length ? h('ul', { class: 'checks' }, checks.map(([k, v]) => h('li', null, h('span', { class: `chip ${v === 'ok' ? 'ok' : 'bad'}` }, k), ` ${v}`))) : null,
  ];
}

export async function mount(ctx) {
  const body = h('div', { class: 'overview' });
  ctx.container.append(h('h1', null, 'Overview'), body);

  async function draw() {
    const [{ stats, urgent, recent, ready }, waiting] = await Promise.all([
      load(ctx.api, ctx.base),
      // Approvals are secondary: an older server without the route still renders the overview.
      ctx.api.get('/api/remediations', { state: 'awaiting-approval', page_size: '20' }).catch(() => null),
    ]);
    if (!ctx.isCurrent()) return;
    clear(body, 
      section('Firing now', priorityCards(stats, ctx.base)),
      waiting ? section('Waiting for approval', approvalsList(ctx, waiting.remediations, () => refresh())) : null,
      h('div', { class: 'grid-2' },
        section('Latest P1 and P2', urgentList(urgent, ctx.base)),
        section('Ingest', ingest(stats))),
      h('div', { class: 'grid-2' },
        section('Remediation', ...remediation(stats, recent, ctx.base)),
        section('Leader and replica health', ...health(stats, ready))),
    );
  }
  await draw();
  const refresh = throttle(() => { draw().catch(() => { /* keep the last good view; the indicator tells the story */ }); }, 2000);
  return {
    onMessage: () => refresh(),
    refresh,
    dispose: () => refresh.stop(),
  };
}
