#!/usr/bin/env node
// A helm post-renderer (helm install --post-renderer): rewrites every webhook configuration to the
// loopback URL in KS_WEBHOOK_URL, so the real apiserver never dials a ClusterIP. The caBundle becomes
// the CA in KS_WEBHOOK_CA_FILE, or stays the chart's own with KS_WEBHOOK_KEEP_CA=1. Reads the rendered
// manifests on stdin, writes them on stdout.
import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import { assertLoopbackOnly, rewriteWebhooks } from './webhook-rewrite.ts';

const url = process.env.KS_WEBHOOK_URL;
const caFile = process.env.KS_WEBHOOK_CA_FILE;
const keepCa = process.env.KS_WEBHOOK_KEEP_CA === '1';
if (!url || (!caFile && !keepCa)) {
  console.error('post-render: KS_WEBHOOK_URL and KS_WEBHOOK_CA_FILE (or KS_WEBHOOK_KEEP_CA=1) are required');
  process.exit(2);
}
const docs = parseAllDocuments(readFileSync(0, 'utf8')).map((d) => d.toJS()).filter((d) => d && typeof d === 'object');
const out = rewriteWebhooks(docs, { url, ca: keepCa ? null : readFileSync(caFile!, 'utf8') });
assertLoopbackOnly(out);
process.stdout.write(out.map((d) => stringify(d)).join('---\n'));
