// The network rule for the cluster suites: the apiserver dials a webhook's `clientConfig.service` at
// its ClusterIP, which is not loopback. Every webhook configuration is rewritten to a loopback URL
// before it reaches the apiserver, and anything left pointing at a Service is refused.
import type { Manifest } from '../../deploy/support.ts';

const WEBHOOK_KINDS = new Set(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);

export interface LoopbackWebhook {
  /** e.g. https://127.0.0.1:9443/webhooks/admission */
  url: string;
  /** PEM of the CA that signed the server's certificate; null keeps each webhook's own caBundle. */
  ca: string | null;
}

export function rewriteWebhooks(docs: Manifest[], to: LoopbackWebhook): Manifest[] {
  const host = new URL(to.url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') throw new Error(`webhook URL ${to.url} is not loopback`);
  return docs.map((d) => {
    if (!WEBHOOK_KINDS.has(d.kind)) return d;
    const copy = structuredClone(d);
    for (const w of copy.webhooks ?? []) {
      const path = w.clientConfig?.service?.path ?? new URL(to.url).pathname;
      const caBundle = to.ca === null ? w.clientConfig?.caBundle : Buffer.from(to.ca).toString('base64');
      w.clientConfig = { url: new URL(path, to.url).toString(), ...(caBundle ? { caBundle } : {}) };
    }
    return copy;
  });
}

/** Throws when any webhook still points anywhere but loopback. */
export function assertLoopbackOnly(docs: Manifest[]): void {
  for (const d of docs.filter((x) => WEBHOOK_KINDS.has(x.kind))) {
    for (const w of d.webhooks ?? []) {
      const url = w.clientConfig?.url;
      if (!url || w.clientConfig?.service) throw new Error(`${d.kind}/${d.metadata.name} webhook ${w.name} is not rewritten to a loopback URL`);
      const host = new URL(url).hostname;
      if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') throw new Error(`${d.kind}/${d.metadata.name}: ${url} is not loopback`);
    }
  }
}
