// Rules: every rule in evaluation order with its hits, and a box to try a sample against them.
import { ApiError } from '../api.js';
import { clear, errorBox, field, h, priorityBadge, section, select, table, throttle, timeEl } from '../dom.js';
import { formatCount, formatDuration, parseLabelLines } from '../format.js';

function matchSummary(match) {
  const parts = [];
  const add = (label, value) => parts.push(h('li', null, h('span', { class: 'muted' }, `${label}: `), h('code', null, value)));
  if (match?.pattern) add('pattern', match.pattern);
  if (match?.keywords?.length) add('keywords', match.keywords.join(', '));
  const labels = Object.entries(match?.labels ?? {});
  if (labels.length) add('labels', labels.map(([k, v]) => `${k}: ${v}`).join(', '));
  if (match?.namespaces?.length) add('namespaces', match.namespaces.join(', '));
  if (match?.sources?.length) add('sources', match.sources.join(', '));
  if (match?.reasons?.length) add('reasons', match.reasons.join(', '));
  return parts.length ? h('ul', { class: 'match' }, parts) : h('span', { class: 'muted' }, 'matches everything');
}

function rulesTable(reply) {
  const rows = reply.rules.map((r, i) => h('tr', { id: `rule-${r.name}`, class: r.enabled ? null : 'disabled' },
    h('td', { class: 'num' }, String(i + 1)),
    h('th', { scope: 'row' }, r.name),
    h('td', null, priorityBadge(r.priority)),
    h('td', null, r.enabled ? 'yes' : h('span', { class: 'chip bad' }, 'disabled')),
    h('td', null, r.action === 'none' ? h('span', { class: 'muted' }, 'none') : h('code', null, r.action),
      Object.keys(r.params ?? {}).length ? h('span', { class: 'muted' }, ` ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ')}`) : null),
    h('td', null, r.cooldown ?? '–'),
    h('td', { class: 'wrap' }, matchSummary(r.match)),
    h('td', { class: 'num', dataset: { hits: r.name } }, formatCount(r.hits))));
  rows.push(h('tr', { class: 'unmatched' },
    h('td', null, ''), h('th', { scope: 'row' }, '(no rule matched)'), h('td', null, priorityBadge('P4')), h('td', null, '–'),
    h('td', null, h('span', { class: 'muted' }, 'none')), h('td', null, '–'), h('td', { class: 'muted' }, 'default when nothing matches'),
    h('td', { class: 'num' }, formatCount(reply.unmatchedHits ?? 0))));
  return table({
    id: 'rules-table',
    caption: 'Rules in evaluation order: the first match wins',
    columns: ['#', 'Name', 'Priority', 'Enabled', 'Action', 'Cooldown', 'Matches', 'Hits'].map((label) => ({ label })),
    rows,
  });
}

function resultView(results) {
  return results.map((r) => h('article', { class: 'test-result' },
    h('h3', null, priorityBadge(r.priority), ' ', r.rule ? `matched ${r.rule}` : 'no rule matched'),
    h('p', null, r.remediation
      ? ['Remediation: ', h('code', null, r.remediation.action), ` (cooldown ${formatDuration(r.remediation.cooldownMs)})`]
      : 'No remediation.'),
    r.message ? h('p', { class: 'muted wrap' }, `Message seen by the rules: ${r.message}`) : null,
    r.why?.tried?.length
      ? h('ol', { class: 'tried' }, r.why.tried.map((t) => h('li', null, h('code', null, t.rule), ` — ${t.failed}`)))
      : null));
}

function tryForm(api) {
  const output = h('div', { id: 'rule-test-result', 'aria-live': 'polite' });
  const form = h('form', { id: 'rule-test', class: 'stack' },
    field('Message', h('textarea', { name: 'message', rows: 3, placeholder: 'Back-off restarting failed container web in pod web-7d9f8b6c5-x2k4q' })),
    field('Labels', h('textarea', { name: 'labels', rows: 3, placeholder: 'severity=critical\nnamespace=shop' }), 'One key=value per line.'),
    h('div', { class: 'row' },
      field('Namespace', h('input', { name: 'namespace', autocomplete: 'off' })),
      field('Source', select('source', [['alert', 'Alert'], ['event', 'Kubernetes Event']], 'alert')),
      field('Event reason', h('input', { name: 'reason', autocomplete: 'off', placeholder: 'BackOff' }))),
    h('details', null, h('summary', null, 'Or paste a whole payload'),
      field('Payload (JSON)', h('textarea', { name: 'payload', rows: 6, spellcheck: 'false' }),
        'An Alertmanager webhook, a Prometheus alert list, a Kubernetes Event or an AdmissionReview. When given, the fields above are ignored.')),
    h('button', { type: 'submit', class: 'primary' }, 'Classify'));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    let body;
    const payloadText = String(data.get('payload') ?? '').trim();
    if (payloadText) {
      try {
        body = { payload: JSON.parse(payloadText) };
      } catch (err) {
        output.replaceChildren(errorBox(new Error(`The payload is not valid JSON: ${err.message}`)));
        return;
      }
    } else {
      const { labels, errors } = parseLabelLines(data.get('labels'));
      if (errors.length) {
        output.replaceChildren(errorBox(new Error(`Labels: ${errors.join('; ')}`)));
        return;
      }
      body = { message: String(data.get('message') ?? ''), labels, source: String(data.get('source')) };
      const ns = String(data.get('namespace') ?? '').trim();
      const reason = String(data.get('reason') ?? '').trim();
      if (ns) body.namespace = ns;
      if (reason) body.reason = reason;
    }
    output.replaceChildren(h('p', { class: 'muted' }, 'Classifying…'));
    try {
      const reply = await api.post('/api/rules/test', body);
      output.replaceChildren(...resultView(reply.results));
    } catch (err) {
      output.replaceChildren(errorBox(err), ...(err.details ?? []).map((d) => h('p', { class: 'muted' }, `${d.path}: ${d.message}`)));
    }
  });
  return [form, output];
}

export async function mount(ctx) {
  const listing = h('div');
  ctx.container.append(
    h('h1', null, 'Rules'),
    section('Try it on a sample', h('p', { class: 'muted' }, 'Runs the sample through the active rules without recording anything.'), ...tryForm(ctx.api)),
    listing);

  async function draw(first = false) {
    const reply = await ctx.api.get('/api/rules');
    if (!ctx.isCurrent()) return;
    clear(listing, section('Active rules',
      h('p', { class: 'muted' }, `${reply.rules.length} rule${reply.rules.length === 1 ? '' : 's'}, loaded `, timeEl(reply.loadedAt)),
      rulesTable(reply)));
    if (first && location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
  }
  try {
    await draw(true);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw err;
    listing.replaceChildren(errorBox(err));
  }
  // Hits are sums of group counts, so new occurrences move them; refresh the table, never the form.
  const refresh = throttle(() => { draw().catch(() => {}); }, 3000);
  return {
    onMessage: (msg) => { if (msg.type === 'group') refresh(); },
    refresh,
    dispose: () => refresh.stop(),
  };
}
