// An app behind its real HTTPS listeners (main with /ws, plus the admission listener), for tests that
// need sockets: the hostile-input corpus and the auth matrix. Store: SQLite file or PostgreSQL.
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { createDashboardRouter } from '../../src/dashboard/router.ts';
import { TokenSet } from '../../src/http/auth.ts';
import { createLiveSocket } from '../../src/http/live-socket.ts';
import { listen, type ListeningServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { Store } from '../../src/store/types.ts';
import { ADMIN_TOKEN, INGEST_TOKEN, READ_TOKEN, makeApp, type TestApp } from '../support/app.ts';
import { testPki } from '../support/pki.ts';

export const TOKENS = { ingest: INGEST_TOKEN, read: READ_TOKEN, admin: ADMIN_TOKEN, wrong: 'wrong-token-0123456789abcdef' } as const;

export interface Stack {
  t: TestApp;
  port: number;
  admissionPort: number;
  close(): Promise<void>;
}

export async function startStack(opts: { config?: ConfigInput; store?: Store } = {}): Promise<Stack> {
  const pki = await testPki();
  const config: ConfigInput = { ...opts.config, web: { admission_listen: '127.0.0.1:0', ...opts.config?.web } };
  const role = configSchema.parse(config).role;
  const t = await makeApp({ config, store: opts.store, deps: { dashboard: createDashboardRouter({ basePath: '', role }) } });
  const tls = { certFile: pki.certFile, keyFile: pki.keyFile };
  const quiet = createLogger({ level: 'silent' });
  const live = createLiveSocket({
    feed: t.app.feed, readTokens: new TokenSet({ tokens: [READ_TOKEN] }), adminTokens: new TokenSet({ tokens: [ADMIN_TOKEN] }),
    basePath: '', logger: quiet,
  });
  const main: ListeningServer = await listen({ handler: t.app.handler, tls, listen: '127.0.0.1:0', onUpgrade: live.onUpgrade, logger: quiet });
  const admission: ListeningServer = await listen({ handler: t.app.admissionHandler!, tls, listen: '127.0.0.1:0', logger: quiet });
  return {
    t, port: main.port, admissionPort: admission.port,
    close: async () => {
      await live.close();
      await Promise.all([main.close(200), admission.close(200)]);
      await t.close();
    },
  };
}

/** A WebSocket handshake request (raw), for checking who gets in. */
export function wsHandshake(port: number, token: string | null, origin = `https://127.0.0.1:${port}`): string {
  const lines = ['GET /ws HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', `Origin: ${origin}`];
  if (token !== null) lines.push(`Authorization: Bearer ${token}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
