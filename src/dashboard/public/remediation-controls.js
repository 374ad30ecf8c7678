// Remediation controls (DESIGN §6a): approve/reject a pending request (with its plan in words), run a
// remediation now, lift a suspension. Action buttons appear only once an admin token has been entered
// (kept in memory only); before that a single "Enter admin token" button stands in for them. On the
// read-only dashboard role the buttons are shown disabled, with the reason next to them.
import { ApiError } from './api.js';
import { askToken } from './auth.js';
import { h, outcomeChip, timeEl } from './dom.js';

export const READ_ONLY_REASON = 'This replica runs the read-only "dashboard" role: approve, reject, run and lift from a webhook replica (or role "all").';

/** Runs `call(token)` with the admin token, asking for it when missing or refused. Resolves false when the user gave up. */
export async function withAdmin(ctx, reason, call) {
  let error;
  for (;;) {
    let token = ctx.session.adminToken();
    if (!token) {
      token = await askToken({ title: 'Admin token', reason, error, allowForget: false });
      if (!token) return false;
    }
    try {
      await call(token);
      ctx.session.setAdminToken(token);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        ctx.session.setAdminToken(null);
        error = 'That admin token was not accepted.';
        continue;
      }
      throw err;
    }
  }
}

/**
 * The buttons of one control: real ones with an admin token, disabled ones with the reason on the
 * dashboard role, otherwise one button that asks for the token and then redraws (`onToken`).
 */
function gated(ctx, buttons, onToken) {
  if (ctx.role === 'dashboard') {
    for (const b of buttons) { b.disabled = true; b.title = READ_ONLY_REASON; }
    return [...buttons, h('span', { class: 'muted gate-reason' }, READ_ONLY_REASON)];
  }
  if (ctx.session.adminToken()) return buttons;
  return [h('button', {
    type: 'button', class: 'enter-admin',
    onclick: async () => {
      const token = await askToken({ title: 'Admin token', reason: 'Approving, rejecting and running remediations needs an admin token (auth.admin_tokens). It is kept in memory only.', allowForget: false });
      if (token) { ctx.session.setAdminToken(token); onToken(); }
    },
  }, 'Enter admin token to act')];
}

async function act(ctx, status, what, call, onDone) {
  status.textContent = `${what}…`;
  try {
    const ok = await withAdmin(ctx, `${what} needs an admin token (auth.admin_tokens). It is kept in memory only.`, call);
    status.textContent = ok ? `${what}: done.` : `${what}: not done, an admin token is needed.`;
    if (ok) ctx.announce(`${what}: done`);
  } catch (err) {
    status.textContent = `${what} failed: ${err.message}`;
  }
  onDone();
}

/** Pending approvals as a list: plan text, rule, target, expiry, comment, Approve / Reject. */
export function approvalsList(ctx, requests, onDone) {
  if (requests.length === 0) return h('p', { class: 'muted', id: 'approvals-empty' }, 'Nothing is waiting for approval.');
  const now = Date.now();
  return h('ul', { class: 'approvals', id: 'approvals' }, requests.map((r) => {
    const status = h('span', { class: 'status', role: 'status' });
    const comment = h('input', { type: 'text', name: 'comment', placeholder: 'Comment (optional)', maxlength: 1000, 'aria-label': `Comment on request ${r.id}` });
    const decide = (verb) => () => act(ctx, status, `${verb === 'approve' ? 'Approve' : 'Reject'} request #${r.id}`,
      (token) => ctx.api.post(`/api/remediations/${r.id}/${verb}`, comment.value ? { comment: comment.value } : {}, { token }), onDone);
    const approve = h('button', { type: 'button', class: 'primary approve', onclick: decide('approve') }, 'Approve');
    const reject = h('button', { type: 'button', class: 'reject', onclick: decide('reject') }, 'Reject');
    const controls = gated(ctx, [approve, reject], onDone);
    return h('li', { class: 'approval', dataset: { id: r.id } },
      h('p', { class: 'plan' }, r.plan || `${r.action} on ${r.target}`),
      h('p', { class: 'muted' }, `Rule ${r.rule} · ${r.namespace}/${r.target} · expires `, r.approvalExpiresAt ? timeEl(r.approvalExpiresAt, now) : '–',
        r.groupId ? [' · ', h('a', { href: `${ctx.base}/errors/${r.groupId}` }, `error #${r.groupId}`)] : null),
      h('div', { class: 'actions' }, ctx.session.adminToken() && ctx.role !== 'dashboard' ? comment : null, ...controls, status));
  }));
}

/** "Run remediation now" for one error group, with the force option (skips cooldown and budget only). */
export function runNowControl(ctx, group, onDone) {
  if (!group.remediation) return h('p', { class: 'muted' }, 'This error\'s rule has no remediation action.');
  const status = h('span', { class: 'status', role: 'status', id: 'run-now-status' });
  const force = h('input', { type: 'checkbox', name: 'force', id: 'run-now-force' });
  const run = h('button', {
    type: 'button', class: 'primary', id: 'run-now',
    onclick: () => act(ctx, status, 'Run remediation now', (token) => ctx.api.post(`/api/errors/${group.id}/remediate`, { force: force.checked }, { token }), onDone),
  }, 'Run remediation now');
  const controls = gated(ctx, [run], onDone);
  return h('div', { class: 'actions run-now' }, ...controls,
    ctx.session.adminToken() && ctx.role !== 'dashboard' ? h('label', { class: 'check' }, force, ' Force: skip the cooldown and hourly budget (never exclusions, opt-outs or verification)') : null,
    status);
}

/** Active suspensions with a Lift button each. */
export function suspensionsList(ctx, suspensions, onDone) {
  if (suspensions.length === 0) return h('p', { class: 'muted', id: 'suspensions-empty' }, 'No (rule, workload) is suspended.');
  const now = Date.now();
  return h('ul', { class: 'suspensions', id: 'suspensions' }, suspensions.map((s) => {
    const status = h('span', { class: 'status', role: 'status' });
    const lift = h('button', {
      type: 'button', class: 'lift',
      onclick: () => act(ctx, status, `Lift suspension #${s.id}`, (token) => ctx.api.del(`/api/suspensions/${s.id}`, { token }), onDone),
    }, 'Lift suspension');
    return h('li', { dataset: { id: s.id } },
      h('p', null, h('strong', null, `${s.namespace}/${s.target}`), ` under rule ${s.rule} · since `, timeEl(s.createdAt, now)),
      h('p', { class: 'muted' }, s.reason),
      h('div', { class: 'actions' }, ...gated(ctx, [lift], onDone), status));
  }));
}

/** The outcome badge of a group's last remediation (effective, ineffective, acted…), or nothing. */
export function lastOutcomeBadge(group) {
  return group.remediation?.lastOutcome ? outcomeChip(group.remediation.lastOutcome) : null;
}
