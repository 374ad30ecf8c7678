// The one registry of ingest formats: every door (channel) is one adapter's route, and the HTTP route
// tables are exactly what the registry declares.
import assert from 'node:assert/strict';
import { CHANNELS } from '../../src/domain/types.ts';
import type { IngestAdapter } from '../../src/ingest/adapter.ts';
import { INGEST_ADAPTERS as REGISTRY, PAYLOAD_FORMATS } from '../../src/ingest/formats.ts';
import { admissionRoutes, ingestRoutes, type AdmissionRouteOptions } from '../../src/http/ingest-routes.ts';

const INGEST_ADAPTERS: readonly IngestAdapter[] = REGISTRY;

describe('ingest/formats (the adapter registry)', () => {
  it('serves every channel by exactly one route, and every route path once', () => {
    const routes = INGEST_ADAPTERS.flatMap((a) => a.routes);
    assert.deepEqual(routes.map((r) => r.channel).sort(), [...CHANNELS].sort());
    assert.equal(new Set(routes.map((r) => r.path)).size, routes.length);
  });

  it('names each format once', () => {
    assert.equal(new Set(PAYLOAD_FORMATS).size, PAYLOAD_FORMATS.length);
    assert.deepEqual([...PAYLOAD_FORMATS].sort(), ['admission', 'alertmanager', 'alerts', 'events']);
  });

  it('the HTTP route tables are built from it, each on its listener', () => {
    const opts = {} as AdmissionRouteOptions; // building the table calls nothing
    const paths = (listener: string) => INGEST_ADAPTERS.filter((a) => a.listener === listener).flatMap((a) => a.routes.map((r) => `POST ${r.path}`));
    assert.deepEqual([...ingestRoutes(opts).keys()], paths('ingest'));
    assert.deepEqual([...ingestRoutes(opts).keys()], ['POST /api/v2/alerts', 'POST /api/v1/alerts', 'POST /webhooks/alertmanager', 'POST /webhooks/events']);
    assert.deepEqual([...admissionRoutes(opts).keys()], ['POST /webhooks/admission']);
  });

  it('keeps the catch-all (Events) last, so narrower shapes are recognised first', () => {
    assert.equal(INGEST_ADAPTERS.at(-1)?.format, 'events');
    assert.equal(INGEST_ADAPTERS.filter((a) => a.recognizes({})).map((a) => a.format).join(), 'events');
  });
});
