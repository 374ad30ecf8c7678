import assert from 'node:assert/strict';
import { IssueList, LIMITS, parseRfc3339, readStringMap, readTime } from '../../src/ingest/common.ts';

describe('ingest/common', () => {
  describe('parseRfc3339', () => {
    const VALID: Array<[string, string]> = [
      ['2026-11-21T22:27:44.426Z', '2026-11-21T22:27:44.426Z'],
      ['2026-11-21T22:27:44.426123456Z', '2026-11-21T22:27:44.426Z'],
      ['2026-11-21T22:27:44Z', '2026-11-21T22:27:44.000Z'],
      ['2026-11-21T22:27:44.5-01:00', '2026-11-21T23:27:44.500Z'],
      ['2026-11-21T22:27:44+05:30', '2026-11-21T16:57:44.000Z'],
      ['2026-11-21t22:27:44z', '2026-11-21T22:27:44.000Z'],
      ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ];
    for (const [input, iso] of VALID) {
      it(`reads ${input}`, () => assert.equal(new Date(parseRfc3339(input)).toISOString(), iso));
    }
    it('reads Go\'s zero time as year 1, not 1901', () => {
      assert.equal(parseRfc3339('0001-01-01T00:00:00Z'), -62135596800000);
    });
    for (const bad of [
      '2026-02-31T00:00:00Z', '2025-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-21T24:00:00Z',
      '2026-11-21T22:27:44', '2026-11-21T22:27:44.Z', '2026-11-21T22:27:44.1234567890Z', '2026-11-21T22:27:44Zjunk',
      'yesterday', '2026-11-21', '1795300064', '2026-11-21T22:27:44+5:30',
    ]) {
      it(`rejects ${JSON.stringify(bad)}`, () => assert.ok(Number.isNaN(parseRfc3339(bad))));
    }
  });

  describe('readTime', () => {
    it('treats absent, empty and Go zero times as unset', () => {
      const issues = new IssueList();
      for (const v of [undefined, null, '', '0001-01-01T00:00:00Z']) assert.equal(readTime({ t: v }, 't', 'x', issues), null);
      assert.equal(issues.count, 0);
    });
    it('reports a wrong type or format at the field path', () => {
      const issues = new IssueList();
      readTime({ t: 17 }, 't', '[2]', issues);
      readTime({ t: 'soon' }, 't', '[3]', issues);
      assert.deepEqual(issues.toArray().map((i) => i.path), ['[2].t', '[3].t']);
    });
  });

  describe('readStringMap', () => {
    const labels = { kind: 'label', required: true } as const;
    it('copies a valid map into a fresh object', () => {
      const input = { a: '1', b_2: '' };
      const out = readStringMap(input, 'labels', new IssueList(), labels);
      assert.deepEqual(out, input);
      assert.notEqual(out, input);
    });
    it('rejects a __proto__ key instead of replacing the prototype', () => {
      const issues = new IssueList();
      const input = JSON.parse('{"__proto__": "x", "a": "1"}');
      assert.equal(readStringMap(input, 'labels', issues, { kind: 'annotation', required: false }), null);
      assert.equal(issues.toArray()[0].path, 'labels.__proto__');
      assert.equal(Object.getPrototypeOf({}), Object.prototype);
    });
    it('accepts any non-empty UTF-8 label name and refuses names that are not text', () => {
      const issues = new IssueList();
      assert.deepEqual(readStringMap({ 'service.name': 'x', 'runbook-url': 'y', 'ü': 'z' }, 'labels', issues, labels),
        { 'service.name': 'x', 'runbook-url': 'y', 'ü': 'z' });
      assert.equal(readStringMap({ ['\udc00x']: 'x' }, 'labels', issues, labels), null);
      assert.equal(readStringMap({ '': 'x' }, 'labels', issues, labels), null);
      assert.deepEqual(issues.toArray().map((i) => i.path), ['labels', 'labels.']);
    });
    it(`refuses more than ${LIMITS.maxLabels} entries and over-long label values, but cuts long annotations`, () => {
      const issues = new IssueList();
      const many = Object.fromEntries(Array.from({ length: LIMITS.maxLabels + 1 }, (_, i) => [`l${i}`, 'v']));
      assert.equal(readStringMap(many, 'labels', issues, labels), null);
      const long = 'x'.repeat(LIMITS.maxValueLength + 1);
      assert.equal(readStringMap({ a: long }, 'labels', issues, labels), null);
      const cut = readStringMap({ a: long }, 'annotations', issues, { kind: 'annotation', required: false });
      assert.equal(cut?.a.length, LIMITS.maxValueLength + 1);
      assert.ok(cut?.a.endsWith('…'));
      assert.deepEqual(issues.toArray().map((i) => i.path), ['labels', 'labels.a']);
    });
    it('names non-string values', () => {
      const issues = new IssueList();
      readStringMap({ a: 1, b: null, c: {} }, 'labels', issues, labels);
      assert.deepEqual(issues.toArray().map((i) => i.path), ['labels.a', 'labels.b', 'labels.c']);
    });
  });

  describe('IssueList', () => {
    it(`keeps ${LIMITS.maxIssues} issues and summarises the rest`, () => {
      const issues = new IssueList();
      for (let i = 0; i < LIMITS.maxIssues + 7; i++) issues.add(`[${i}]`, 'bad');
      const list = issues.toArray();
      assert.equal(issues.count, LIMITS.maxIssues + 7);
      assert.equal(list.length, LIMITS.maxIssues + 1);
      assert.deepEqual(list[LIMITS.maxIssues], { path: 'body', message: '7 more issues not listed' });
    });
  });
});
