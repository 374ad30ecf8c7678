// A byte-level HTTP/1.1 client over TLS: sends exactly what a test writes (malformed framing, bad
// header names, a body that keeps coming after the answer) and parses whatever comes back.
import { connect, type TLSSocket } from 'node:tls';

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Parsed JSON body, or null. */
  json: any;
  /** Milliseconds until the full answer was read. */
  ms: number;
}

export interface RawOptions {
  port: number;
  /** Give up after this long (a hang is a failure, reported as an error). */
  timeoutMs?: number;
  /**
   * After the head, write this many body bytes in chunks. `readAfter`: like a simple client, read
   * nothing until the upload is done — an answer the server sent early then survives only if the
   * server did not reset the connection meanwhile (a reset discards unread data).
   */
  upload?: { bytes: number; chunk?: number; readAfter?: boolean };
}

function parseHead(head: string): { status: number; headers: Record<string, string> } {
  const [line, ...rest] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(line)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const h of rest) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  return { status, headers };
}

/** Send `bytes` (request line, headers and any body) and read one answer. */
export function rawRequest(bytes: string | Buffer, opts: RawOptions): Promise<RawReply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const socket: TLSSocket = connect({ host: '127.0.0.1', port: opts.port, rejectUnauthorized: false });
    const finish = (err: Error | null, reply?: RawReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${opts.timeoutMs ?? 5000} ms`)), opts.timeoutMs ?? 5000);
    const tryParse = (ended: boolean) => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (ended) finish(new Error(`connection closed without an answer (${buf.length} bytes: ${JSON.stringify(buf.toString('latin1').slice(0, 80))})`));
        return;
      }
      const { status, headers } = parseHead(buf.subarray(0, end).toString('latin1'));
      const rest = buf.subarray(end + 4);
      const length = headers['content-length'] === undefined ? null : Number(headers['content-length']);
      let body: string | null = null;
      if (status === 101 || status === 204 || status === 304) body = '';
      else if (length !== null && rest.length >= length) body = rest.subarray(0, length).toString('utf8');
      else if (length === null && headers['transfer-encoding'] === 'chunked') {
        const text = rest.toString('latin1');
        if (text.includes('\r\n0\r\n\r\n') || text.startsWith('0\r\n\r\n')) {
          let out = '';
          let i = 0;
          for (;;) {
            const eol = text.indexOf('\r\n', i);
            const size = parseInt(text.slice(i, eol), 16);
            if (!size) break;
            out += text.slice(eol + 2, eol + 2 + size);
            i = eol + 2 + size + 2;
          }
          body = Buffer.from(out, 'latin1').toString('utf8');
        }
      } else if (length === null && ended) body = rest.toString('utf8');
      if (body === null) {
        if (ended) finish(new Error(`connection closed mid-answer (status ${status})`));
        return;
      }
      let json: any = null;
      try { json = JSON.parse(body); } catch { json = null; }
      finish(null, { status, headers, body, json, ms: performance.now() - started });
    };
    socket.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); tryParse(false); });
    socket.on('end', () => tryParse(true));
    socket.on('close', () => tryParse(true));
    // A reset after the answer arrived is fine; one before it is what the tests look for.
    socket.on('error', (err) => { if (buf.indexOf('\r\n\r\n') < 0) finish(err); else tryParse(true); });
    socket.once('secureConnect', async () => {
      socket.write(bytes);
      if (!opts.upload) return;
      if (opts.upload.readAfter) socket.pause();
      const chunk = Buffer.alloc(opts.upload.chunk ?? 64 * 1024, 0x20);
      let sent = 0;
      while (!done && sent < opts.upload.bytes && socket.writable) {
        const n = Math.min(chunk.length, opts.upload.bytes - sent);
        sent += n;
        if (!socket.write(chunk.subarray(0, n))) {
          await new Promise<void>((r) => {
            const go = () => { socket.off('drain', go); socket.off('close', go); r(); };
            socket.once('drain', go);
            socket.once('close', go);
          });
        }
      }
      socket.resume();
    });
  });
}

/** Request bytes with the usual framing; `head` lines go in as given (so they may be malformed). */
export function http(method: string, path: string, head: string[] = [], body = ''): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...head];
  if (body && !head.some((h) => /^(content-length|transfer-encoding):/i.test(h))) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
