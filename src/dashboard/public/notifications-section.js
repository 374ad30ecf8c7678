// The error page's "Notifications" section: every delivery that named this group (GET
// /api/notifications?group_id=…), with its receiver, state, attempts and last error, so an on-call
// can see whether Slack, PagerDuty, Alertmanager or a webhook heard about it.
import { h, section, table, timeEl } from './dom.js';

// Reuses the outcome chip colours: sent is good, failed is bad, pending/sending are in progress.
const CHIP = { sent: 'ok', failed: 'bad', pending: 'outcome-dry-run', sending: 'outcome-dry-run' };

function stateChip(state) {
  return h('span', { class: `chip ${CHIP[state] ?? ''}` }, state);
}

export function notificationsSection(reply, now = Date.now()) {
  const rows = (reply?.notifications ?? []).map((n) => h('tr', null,
    h('td', null, timeEl(n.createdAt, now)),
    h('td', null, n.receiver),
    h('td', null, n.kind),
    h('td', null, stateChip(n.state)),
    h('td', { class: 'num' }, String(n.attempts)),
    h('td', null, n.sentAt ? timeEl(n.sentAt, now) : n.nextAttemptAt ? h('span', null, 'retry ', timeEl(n.nextAttemptAt, now)) : '–'),
    h('td', { class: 'wrap' }, n.suppressed > 0 ? `${n.lastError ?? ''} (${n.suppressed} more summarised by the rate limit)`.trim() : n.lastError || '–')));
  return section('Notifications', table({
    id: 'notifications',
    columns: [{ label: 'When' }, { label: 'Receiver' }, { label: 'Kind' }, { label: 'State' }, { label: 'Attempts' }, { label: 'Sent / next' }, { label: 'Error' }],
    rows,
    empty: 'No notification named this error (no route matched, or none is configured).',
  }));
}
