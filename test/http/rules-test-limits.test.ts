// POST /api/rules/test runs on the event loop, so one request must not be able to buy seconds of CPU:
// candidate rules, signals and their product are capped, and hostile YAML is a 400, never a 500.
import assert from 'node:assert/strict';
import request from 'supertest';
import { RULES_TEST_LIMITS } from '../../src/classify/try-rules.ts';
import { READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';

const read = { authorization: `Bearer ${READ_TOKEN}` };
const rule = (i: number) => `  - name: r${i}\n    match: {pattern: "(?i)x${i}[0-9a-f]{4}(foo|bar)+"}\n    priority: P3\n`;
const rulesText = (n: number) => `rules:\n${Array.from({ length: n }, (_, i) => rule(i)).join('')}`;
const alerts = (n: number) => Array.from({ length: n }, (_, i) => ({ labels: { alertname: `A${i}` }, annotations: { summary: 'boom' } }));

describe('POST /api/rules/test limits', () => {
  let t: TestApp;
  before(async () => { t = await makeApp({ config: { web: { body_limit: '2mb' } } }); });
  after(() => t.close());
  const post = (body: object) => request(t.app.handler).post('/api/rules/test').set(read).send(body);

  it('answers a YAML alias bomb with 400 invalid_rules', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'g']]) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const r = await post({ message: 'x', rules: `${levels.join('\n')}\nrules: [*g]\n` });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'invalid_rules');
  });

  it(`refuses more than ${RULES_TEST_LIMITS.maxRules} candidate rules before compiling any`, async () => {
    const started = performance.now();
    const r = await post({ message: 'x', rules: rulesText(1500) });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_rules');
    assert.match(r.body.error.message, /At most 100 candidate rules/);
    // Compiling 1,500 rules takes several seconds on this machine; counting them takes milliseconds.
    assert.ok(performance.now() - started < 4000, 'refused without compiling 1,500 rules');
    assert.equal((await post({ message: 'x', rules: rulesText(RULES_TEST_LIMITS.maxRules) })).status, 200);
  });

  it('refuses a rules document over the byte cap', async () => {
    const r = await post({ message: 'x', rules: `# ${'x'.repeat(RULES_TEST_LIMITS.maxRulesBytes)}\nrules: []\n` });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_rules');
  });

  it('caps signals per test and rules × signals', async () => {
    const many = await post({ payload: alerts(RULES_TEST_LIMITS.maxSignals + 1) });
    assert.equal(many.status, 400);
    assert.equal(many.body.error.code, 'bad_request');
    const product = await post({ rules: rulesText(100), payload: alerts(21) });
    assert.equal(product.status, 400);
    assert.match(product.body.error.message, /evaluations/);
    const fits = await post({ rules: rulesText(100), payload: alerts(20) });
    assert.equal(fits.status, 200);
    assert.equal(fits.body.results.length, 20);
  });
});
