#!/usr/bin/env node
// A helm post-renderer (helm install --post-renderer): rewrites every webhook configuration to the
// loopback URL in KS_WEBHOOK_URL with the CA in KS_WEBHOOK_CA_FILE, so the real apiserver never dials a
// ClusterIP. Reads the rendered manifests on stdin, writes them on stdout.
import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import { assertLoopbackOnly, rewriteWebhooks } from './webhook-rewrite.ts';

const url = process.env.KS_WEBHOOK_URL;
const caFile = process.env.KS_WEBHOOK_CA_FILE;
if (!url || !caFile) {
  console.error('post-render: KS_WEBHOOK_URL and KS_WEBHOOK_CA_FILE are required');
  process.exit(2);
}
const docs = parseAllDocuments(readFileSync(0, 'utf8')).map((d) => d.toJS()).filter((d) => d && typeof d === 'object');
const out = rewriteWebhooks(docs, { url, ca: readFileSync(caFile, 'utf8') });
assertLoopbackOnly(out);
process.stdout.write(out.map((d) => stringify(d)).join('---\n'));
