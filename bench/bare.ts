// (a) The physical limit on this machine: a bare node:https server that reads and JSON-parses the
// same body and answers 200. Run as its own process so it gets a core like the real server does.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [certFile, keyFile, port] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[];
    const body = `{"status":"success","accepted":${parsed.length}}`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
