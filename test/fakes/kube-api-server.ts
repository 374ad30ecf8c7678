// Runs the fake Kubernetes API server as its own process, for multi-process tests:
//   node test/fakes/kube-api-server.ts [--port N] [--state objects.json] [--pod-deletion terminating]
// Prints `{"port": N, "url": "..."}` on one line once listening; SIGTERM/SIGINT stop it.
// The state file is a JSON array of objects (or {"items": [...]}) seeded at start.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FakeKubeApi } from './kube-api.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    state: { type: 'string' },
    'pod-deletion': { type: 'string', default: 'immediate' },
  },
});

const podDeletion = values['pod-deletion'] === 'terminating' ? 'terminating' : 'immediate';
const api = new FakeKubeApi({ podDeletion });
if (values.state) {
  const doc = JSON.parse(readFileSync(values.state, 'utf8'));
  for (const obj of Array.isArray(doc) ? doc : doc.items ?? []) api.objects.seed(obj);
}
const url = await api.start(Number(values.port));
process.stdout.write(`${JSON.stringify({ port: Number(new URL(url).port), url })}\n`);

const shutdown = () => void api.stop().then(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
