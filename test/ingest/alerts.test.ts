import assert from 'node:assert/strict';
import { parseAlerts } from '../../src/ingest/alerts.ts';
import { CAPTURED_AT, fixture } from './fixtures.ts';

const NOW = Date.parse('2026-11-21T22:30:00Z');
const STARTS = '2026-11-21T22:27:44.426Z';

describe('ingest/alerts (Prometheus / Loki ruler, /api/v{1,2}/alerts)', () => {
  describe('captured Prometheus 2.42 payloads', () => {
    it('a firing alert: endsAt ahead is "valid until"', () => {
      const r = parseAlerts(fixture('prometheus-v2-alerts.json'), CAPTURED_AT, 'alerts-v2');
      assert.deepEqual(r.issues, []);
      assert.equal(r.total, 1);
      const [s] = r.signals;
      assert.equal(s.state, 'firing');
      assert.equal(s.channel, 'alerts-v2');
      assert.equal(s.source, 'alert');
      assert.equal(s.title, 'KubePodCrashLooping');
      assert.equal(s.namespace, 'default');
      assert.equal(s.pod, 'demo-7d9f8b6c5-x2k4q');
      assert.equal(s.container, 'app');
      assert.equal(s.owner, null);
      assert.equal(s.startsAt, Date.parse(STARTS));
      assert.equal(s.endsAt, Date.parse('2026-11-21T22:31:44.426Z'));
      assert.equal(s.alertFingerprint, 'e6d7d72be312c821');
      assert.equal(s.occurrenceKey, `alert:e6d7d72be312c821:${Date.parse(STARTS)}`);
      assert.equal(s.occurrenceCount, 1);
      assert.equal(s.reason, '');
      assert.match(s.generatorUrl, /^http:\/\/127\.0\.0\.1:19090\/graph\?g0\.expr=/);
      assert.equal(
        s.message,
        'KubePodCrashLooping: Pod default/demo-7d9f8b6c5-x2k4q (container app) is in CrashLoopBackOff\n' +
          'Container app in pod default/demo-7d9f8b6c5-x2k4q is in CrashLoopBackOff: back-off 5m0s restarting failed ' +
          'container=app pod=demo-7d9f8b6c5-x2k4q_default. It restarted 7 times in the last 10 minutes.',
      );
    });

    it('the resolved alert: endsAt in the past; same occurrence key as its firing', () => {
      const resolvedAt = Date.parse('2026-11-21T22:28:09.426Z');
      const r = parseAlerts(fixture('prometheus-v2-alerts-resolved.json'), resolvedAt + 500, 'alerts-v1');
      const [s] = r.signals;
      assert.equal(s.state, 'resolved');
      assert.equal(s.channel, 'alerts-v1');
      assert.equal(s.endsAt, resolvedAt);
      const firing = parseAlerts(fixture('prometheus-v2-alerts.json'), CAPTURED_AT).signals[0];
      assert.equal(s.occurrenceKey, firing.occurrenceKey);
    });

    it('firing vs resolved depends on the clock, not on the payload alone', () => {
      const body = fixture('prometheus-v2-alerts.json');
      assert.equal(parseAlerts(body, Date.parse('2026-11-21T22:31:44.425Z')).signals[0].state, 'firing');
      assert.equal(parseAlerts(body, Date.parse('2026-11-21T22:31:44.426Z')).signals[0].state, 'resolved');
    });
  });

  it('accepts unknown fields at every level', () => {
    const r = parseAlerts([{ labels: { alertname: 'A' }, annotations: {}, status: 'whatever', future: { x: [1] } }], NOW);
    assert.deepEqual(r.issues, []);
    assert.equal(r.signals.length, 1);
  });

  it('defaults a missing startsAt to now (or endsAt), and keys re-sends of it alike', () => {
    const a = parseAlerts([{ labels: { alertname: 'A' } }], NOW).signals[0];
    const b = parseAlerts([{ labels: { alertname: 'A' } }], NOW + 60_000).signals[0];
    assert.equal(a.startsAt, NOW);
    assert.equal(a.endsAt, null);
    assert.equal(a.state, 'firing');
    assert.equal(a.occurrenceKey, b.occurrenceKey);
    const resolved = parseAlerts([{ labels: { alertname: 'A' }, endsAt: '2026-11-21T22:00:00Z' }], NOW).signals[0];
    assert.equal(resolved.startsAt, Date.parse('2026-11-21T22:00:00Z'));
    assert.equal(resolved.state, 'resolved');
  });

  it('a new firing (new startsAt) is a new occurrence', () => {
    const a = parseAlerts([{ labels: { alertname: 'A' }, startsAt: '2026-11-21T22:00:00Z' }], NOW).signals[0];
    const b = parseAlerts([{ labels: { alertname: 'A' }, startsAt: '2026-11-21T22:10:00Z' }], NOW).signals[0];
    assert.notEqual(a.occurrenceKey, b.occurrenceKey);
    assert.equal(a.alertFingerprint, b.alertFingerprint);
  });

  describe('alert → signal details', () => {
    const one = (labels: Record<string, string>, annotations: Record<string, string> = {}) =>
      parseAlerts([{ labels, annotations }], NOW).signals[0];

    it('message: alertname, then summary, description and message annotations, skipping repeats', () => {
      assert.equal(one({ alertname: 'A' }, { summary: 's', description: 'd', message: 'm', runbook_url: 'r' }).message, 'A: s\nd\nm');
      assert.equal(one({ alertname: 'A' }, { summary: 's', message: 's' }).message, 'A: s');
      assert.equal(one({ alertname: 'A' }).message, 'A');
      assert.equal(one({ job: 'x' }, { description: 'd' }).message, 'd');
    });

    it('title falls back to the summary, then a placeholder, when there is no alertname', () => {
      assert.equal(one({ job: 'x' }, { summary: 'Disk full\nmore' }).title, 'Disk full');
      assert.equal(one({ job: 'x' }).title, 'unnamed alert');
    });

    it('pod and container from the old cAdvisor label names too', () => {
      const s = one({ alertname: 'A', pod_name: 'p-0', container_name: 'c' });
      assert.equal(s.pod, 'p-0');
      assert.equal(s.container, 'c');
    });

    const OWNERS: Array<[Record<string, string>, { kind: string; name: string } | null]> = [
      [{ deployment: 'web' }, { kind: 'Deployment', name: 'web' }],
      [{ statefulset: 'db' }, { kind: 'StatefulSet', name: 'db' }],
      [{ daemonset: 'agent' }, { kind: 'DaemonSet', name: 'agent' }],
      [{ job_name: 'migrate-28847' }, { kind: 'Job', name: 'migrate-28847' }],
      [{ job: 'kubernetes-pods' }, null], // Prometheus' scrape job, not a Kubernetes Job
      [{ owner_kind: 'ReplicaSet', owner_name: 'web-7d9f8b6c5' }, { kind: 'ReplicaSet', name: 'web-7d9f8b6c5' }],
      [{ owner_kind: '<none>', owner_name: '<none>' }, null],
      [{ workload: 'web', workload_type: 'deployment' }, { kind: 'Deployment', name: 'web' }],
      [{ workload: 'web', workload_type: 'deployment', owner_kind: 'ReplicaSet', owner_name: 'web-1' }, { kind: 'Deployment', name: 'web' }],
    ];
    for (const [labels, owner] of OWNERS) {
      it(`owner from ${JSON.stringify(labels)}`, () => assert.deepEqual(one({ alertname: 'A', ...labels }).owner, owner));
    }
  });

  it('accepts UTF-8 label names (Prometheus 3, OpenTelemetry): dots, dashes, leading digits, non-ASCII', () => {
    const labels = { alertname: 'Otel', 'service.name': 'checkout', 'k8s-app': 'web', '1st': 'a', 'région': 'île-de-france', '名前': 'v' };
    const r = parseAlerts([{ labels }], NOW);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.signals[0].labels, labels);
  });

  describe('invalid input becomes issues with paths, never an exception', () => {
    const CASES: Array<[string, unknown, string[]]> = [
      ['body is an object', { alerts: [] }, ['body']],
      ['body is a string', 'alerts', ['body']],
      ['body is null', null, ['body']],
      ['item is not an object', [42], ['[0]']],
      ['labels missing', [{ annotations: {} }], ['[0].labels']],
      ['labels empty', [{ labels: {} }], ['[0].labels']],
      ['labels an array', [{ labels: ['a'] }], ['[0].labels']],
      ['label value not a string', [{ labels: { alertname: 1 } }], ['[0].labels.alertname']],
      ['empty label name', [{ labels: { '': 'x' } }], ['[0].labels.']],
      ['label name with a lone surrogate (not UTF-8)', [{ labels: { [`bad${'\ud800'}`]: 'x' } }], ['[0].labels']],
      ['annotations not an object', [{ labels: { a: 'b' }, annotations: 'x' }], ['[0].annotations']],
      ['bad startsAt', [{ labels: { a: 'b' }, startsAt: 'yesterday' }], ['[0].startsAt']],
      ['numeric endsAt', [{ labels: { a: 'b' }, endsAt: 1795300064 }], ['[0].endsAt']],
      ['endsAt before startsAt', [{ labels: { a: 'b' }, startsAt: STARTS, endsAt: '2026-11-21T22:00:00Z' }], ['[0].endsAt']],
      ['generatorURL not a string', [{ labels: { a: 'b' }, generatorURL: {} }], ['[0].generatorURL']],
      [
        'several problems in one item, all listed',
        [{ labels: { a: 'b' }, startsAt: 'x', endsAt: 'y' }],
        ['[0].startsAt', '[0].endsAt'],
      ],
    ];
    for (const [what, body, paths] of CASES) {
      it(what, () => {
        const r = parseAlerts(body, NOW);
        assert.deepEqual(r.issues.map((i) => i.path), paths);
        assert.deepEqual(r.signals, []);
      });
    }

    it('keeps the valid items of a mixed batch and names the index of each bad one', () => {
      const r = parseAlerts(
        [{ labels: { alertname: 'A' } }, { labels: {} }, { labels: { alertname: 'B' }, startsAt: 'x' }, { labels: { alertname: 'C' } }],
        NOW,
      );
      assert.equal(r.total, 4);
      assert.deepEqual(r.signals.map((s) => s.title), ['A', 'C']);
      assert.deepEqual(r.issues.map((i) => i.path), ['[1].labels', '[2].startsAt']);
    });

    it('refuses a huge label set rather than storing it', () => {
      const labels = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`l${i}`, 'v']));
      const r = parseAlerts([{ labels }], NOW);
      assert.deepEqual(r.issues.map((i) => i.path), ['[0].labels']);
    });

    it('survives garbage of every JSON type in every field', () => {
      const junk = [null, true, 0, -1.5, '', 'x', [], [1], {}, { a: 1 }];
      for (const v of junk) {
        for (const field of ['labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL']) {
          const r = parseAlerts([{ labels: { alertname: 'A' }, [field]: v }], NOW);
          assert.equal(r.total, 1);
          assert.equal(r.signals.length + Math.min(1, r.issues.length), 1, `${field}=${JSON.stringify(v)}`);
        }
      }
    });
  });
});
