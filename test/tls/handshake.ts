// A bare TLS handshake against a test listener, for the policy and rotation tests.
import { connect, type ConnectionOptions } from 'node:tls';

/** Handshake result: the negotiated protocol and cipher, or the error code. */
export function handshake(port: number, opts: ConnectionOptions): Promise<{ ok: true; protocol: string; cipher: string } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const result = { ok: true as const, protocol: socket.getProtocol() ?? '', cipher: socket.getCipher().name };
      socket.end();
      resolve(result);
    });
    socket.setTimeout(5000, () => { socket.destroy(); resolve({ ok: false, code: 'timeout' }); });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }));
  });
}

