#!/usr/bin/env node
// kube-sentinel: process entry. Argument parsing, signals and exit codes only; the wiring is in
// serve.ts and everything below it. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.ts';
import { readProcessEnv } from './config/process-env.ts';
import { AppError, LoadError } from './domain/errors.ts';
import { loadRulesFile } from './classify/load.ts';
import { defaultRulesPath } from './classify/defaults.ts';
import { testRules } from './classify/try-rules.ts';
import { detectAndParse } from './ingest/detect.ts';
import { createLogger, scrubUrl } from './observability/logger.ts';
import { serve } from './serve.ts';
import { ensureCertificates, serviceDnsNames } from './tls/certs.ts';

const USAGE = `Usage:
  kube-sentinel serve [--config FILE] [--rules FILE]     run the server (no config: zero-config dev mode)
  kube-sentinel rules test [--rules FILE] < payload.json  classify a payload (alerts, webhook, Event, AdmissionReview)
  kube-sentinel certs [--out DIR] [--service NAME] [--namespace NS] [--ip IP]...
                                                          write a dev CA + serving certificate
Environment: KS_CONFIG, KS_RULES, KS_ROLE, KS_LISTEN, DATABASE_URL, POD_NAME, POD_NAMESPACE, KUBECONFIG,
             KS_SHUTDOWN_DELAY (wait after SIGTERM before draining; default 5s), LOG_LEVEL`;

class UsageError extends Error {}
/** Bad input to a command (not its arguments): one line naming the problem, exit 2, no usage text. */
class InputError extends Error {}

function fail(err: unknown): never {
  if (err instanceof LoadError || err instanceof UsageError || err instanceof InputError) {
    process.stderr.write(`kube-sentinel: ${err.message}\n`);
    if (err instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`kube-sentinel: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function cmdServe(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, rules: { type: 'string' } } });
  const env = process.env;
  const proc = readProcessEnv(env);
  const loaded = await loadConfig({ configFlag: values.config, rulesFlag: values.rules, env });
  const logger = createLogger({ level: proc.logLevel, base: { pod: env.POD_NAME } });
  if (loaded.config.store.url) logger.info({ database: scrubUrl(loaded.config.store.url) }, 'using PostgreSQL');
  const running = await serve({ loaded, logger, podName: env.POD_NAME, podNamespace: env.POD_NAMESPACE, kubeconfigEnv: loaded.file ? env.KUBECONFIG : undefined });
  if (!loaded.file) {
    process.stdout.write([
      '',
      `kube-sentinel is running in zero-config mode at ${running.listener.url}`,
      `  CA certificate (trust it in senders): ${running.caFile}`,
      `  ingest token (Authorization: Bearer …): ${running.ingestTokenFile}`,
      '  store: SQLite, remediation: dry-run, cluster: none',
      '',
    ].join('\n'));
  }
  const delay = proc.shutdownDelayMs;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: readiness off, then draining');
    running.shutdown(signal === 'SIGINT' ? 0 : delay).then(() => process.exit(0), (err) => {
      logger.error({ err }, 'unclean shutdown');
      process.exit(1);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => {
    void running.rules.reload('sighup');
    void running.tls.reload('sighup');
  });
}

async function cmdRulesTest(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { rules: { type: 'string' } }, allowPositionals: true });
  if (positionals[0] !== 'test') throw new UsageError(`unknown rules subcommand "${positionals[0] ?? ''}"`);
  const rules = await loadRulesFile(values.rules ?? process.env.KS_RULES ?? defaultRulesPath());
  let payload: unknown;
  try {
    payload = JSON.parse(await readStdin());
  } catch (err) {
    throw new InputError(`stdin is not JSON: ${(err as Error).message}`);
  }
  let out: ReturnType<typeof testRules>;
  try {
    out = testRules({ payload }, rules, Date.now(), detectAndParse);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    // e.g. `{}`: name what is wrong with the payload (and the first issue found in it) on one line.
    const first = err.details[0];
    throw new InputError(`stdin: ${err.message}${first ? ` (${first.path}: ${first.message})` : ''}`.replace(/\s+/g, ' '));
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

async function cmdCerts(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: {
    out: { type: 'string', default: './certs/out' },
    service: { type: 'string', default: 'kube-sentinel' },
    namespace: { type: 'string', default: 'kube-sentinel' },
    ip: { type: 'string', multiple: true, default: ['127.0.0.1'] },
  } });
  const made = await ensureCertificates(values.out!, {
    // The admission Service (<service>-admission, port 9443) presents the same certificate.
    dnsNames: ['localhost', ...serviceDnsNames(values.service!, values.namespace!), ...serviceDnsNames(`${values.service!}-admission`, values.namespace!)],
    ipAddresses: values.ip!,
  });
  process.stdout.write(`${made.created ? 'wrote' : 'kept existing'}: ${made.caFile} ${made.certFile} ${made.keyFile}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === 'serve' || cmd === undefined) return cmdServe(rest);
  if (cmd === 'rules') return cmdRulesTest(rest);
  if (cmd === 'certs') return cmdCerts(rest);
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (cmd === '--version') {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  throw new UsageError(`unknown command "${cmd}"`);
}

main(process.argv.slice(2)).catch(fail);
