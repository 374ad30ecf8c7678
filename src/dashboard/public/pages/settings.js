// Settings: the runtime remediation switches. Changing them needs the admin token (asked for here,
// kept in memory only); where the server cannot accept changes, the controls are disabled and the
// page says why instead of letting a click fail.
import { ApiError } from '../api.js';
import { askToken } from '../auth.js';
import { h, section } from '../dom.js';

function explanation(role, settings) {
  if (settings.writable) return 'Changes apply to every replica at once and are kept in the store; config values are only the starting point.';
  if (role === 'dashboard') {
    return 'This replica runs the read-only "dashboard" role, so it cannot change settings. Use a webhook replica (or role "all") to change them.';
  }
  return 'No admin token is configured on this server (auth.admin_tokens), so settings cannot be changed here.';
}

export async function mount(ctx) {
  const settings = await ctx.api.get('/api/settings');
  if (!ctx.isCurrent()) return null;
  const locked = !settings.writable;
  let dirty = false;

  const enabled = h('input', { type: 'checkbox', name: 'enabled', id: 'setting-enabled', checked: settings.enabled });
  const dryRun = h('input', { type: 'checkbox', name: 'dryRun', id: 'setting-dry-run', checked: settings.dryRun });
  const approval = h('input', { type: 'checkbox', name: 'requireApproval', id: 'setting-require-approval', checked: settings.requireApproval === true });
  const budget = h('input', { type: 'number', name: 'maxActionsPerHour', id: 'setting-budget', min: 0, max: 100000, step: 1, required: true, value: String(settings.maxActionsPerHour) });
  const status = h('p', { id: 'settings-status', role: 'status' });
  const save = h('button', { type: 'submit', class: 'primary', disabled: locked }, 'Save settings');
  const explain = h('p', { id: 'settings-explanation', class: locked ? 'notice' : 'muted' }, explanation(ctx.role, settings));
  const fieldset = h('fieldset', { disabled: locked, 'aria-describedby': 'settings-explanation' },
    h('legend', null, 'Remediation'),
    h('label', { class: 'check' }, enabled, ' Remediation enabled'),
    h('label', { class: 'check' }, dryRun, ' Dry-run: walk every guard and record what would be done, but change nothing'),
    h('label', { class: 'check' }, approval, ' Require approval: every action waits for an admin to approve it (overview and error pages)'),
    h('label', { class: 'field' }, h('span', { class: 'field-label' }, 'Maximum actions per hour (all replicas)'), budget));
  const form = h('form', { id: 'settings-form', class: 'stack' }, explain, fieldset, h('div', { class: 'actions' }, save), status);

  function show(s) {
    enabled.checked = s.enabled;
    dryRun.checked = s.dryRun;
    approval.checked = s.requireApproval === true;
    budget.value = String(s.maxActionsPerHour);
    dirty = false;
  }

  form.addEventListener('input', () => { dirty = true; });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (locked || !form.reportValidity()) return;
    const body = { enabled: enabled.checked, dryRun: dryRun.checked, requireApproval: approval.checked, maxActionsPerHour: Number(budget.value) };
    let error;
    // Ask for the admin token until it is accepted or the user gives up.
    for (;;) {
      let token = ctx.session.adminToken();
      if (!token) {
        token = await askToken({ title: 'Admin token', reason: 'Changing settings needs an admin token (auth.admin_tokens). It is kept in memory only.', error, allowForget: false });
        if (!token) {
          status.textContent = 'Not saved: an admin token is needed.';
          return;
        }
      }
      save.disabled = true;
      status.textContent = 'Saving…';
      try {
        const saved = await ctx.api.post('/api/settings', body, { token });
        ctx.session.setAdminToken(token);
        show(saved);
        status.textContent = 'Saved.';
        ctx.announce('Settings saved');
        return;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          ctx.session.setAdminToken(null);
          error = 'That admin token was not accepted.';
          status.textContent = 'Not saved: the admin token was not accepted.';
          continue;
        }
        status.textContent = `Not saved: ${err.message}`;
        return;
      } finally {
        save.disabled = locked;
      }
    }
  });

  ctx.container.append(h('h1', null, 'Settings'), section('Remediation settings', form),
    section('Where settings come from', h('p', { class: 'muted' },
      'Startup values come from remediation.enabled, remediation.dry_run and remediation.max_actions_per_hour in the config file. '
      + 'Saved changes are stored and win over the config until changed again. Everything else (tokens, rules, excluded namespaces) is configuration and needs a redeploy.')));

  return {
    onMessage(msg) {
      if (msg.type !== 'settings') return;
      const s = msg.settings;
      // Our own save comes back through the feed too; only news from elsewhere is worth saying.
      if (s.enabled === enabled.checked && s.dryRun === dryRun.checked && (s.requireApproval === true) === approval.checked
        && s.maxActionsPerHour === Number(budget.value)) return;
      if (dirty) {
        status.textContent = 'Settings were changed elsewhere; saving will overwrite them.';
      } else {
        show(s);
        status.textContent = 'Settings were updated elsewhere.';
      }
    },
    async refresh() {
      if (!dirty) show(await ctx.api.get('/api/settings'));
    },
  };
}
