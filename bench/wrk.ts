// Drives wrk (Debian package) with a Lua script that makes every request distinct, and parses its report.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/support/proc.ts';

export interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  non2xx: number;
  /** Socket errors: connect, read, write and timeout. */
  errors: number;
  /** Of those, answers that came after wrk's 2 s timeout (counted in the rate, not in the percentiles). */
  timeouts: number;
}

/**
 * The bench alerts' description: the captured Prometheus sample's (198 characters) and a space, four
 * times: 796 characters, so one alert is about 1.1 KB of JSON (double quotes made single, for the Lua).
 * The cut at 1100 characters never bites; it is kept so the bodies stay the ones every round measured.
 */
export function benchDescription(): string {
  const sample = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/prometheus-v2-alerts.json'), 'utf8'));
  return `${sample[0].annotations.description} `.repeat(4).slice(0, 1100).replace(/"/g, "'");
}

/**
 * Lua that posts `batch` distinct alerts per request (distinct alertname per request and thread), or
 * with `same` the one alert every time (a re-send). `tag` goes into the alertname, so repeated runs
 * against one server still send alerts it has not seen.
 */
export function alertScript(dir: string, opts: { token: string; batch: number; path: string; description: string; tag?: string; same?: boolean }): string {
  const tag = opts.tag ?? 'x';
  const file = join(dir, `alerts-${opts.batch}-${tag}${opts.same ? '-same' : ''}.lua`);
  const name = opts.same ? `"Bench_${tag}_same"` : `string.format("Bench_${tag}_%d_%d_%d", tid, counter, i)`;
  writeFileSync(file, `
local counter = 0
-- tid is a global that setup() sets in each thread's own Lua state (a local here would shadow it).
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
end
local desc = ${JSON.stringify(opts.description)}
request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, ${opts.batch} do
    parts[i] = string.format('{"labels":{"alertname":"%s","namespace":"bench","pod":"web-7d9f8b6c5-x2k4q","container":"app","severity":"warning"},"annotations":{"summary":"bench alert","description":"%s"},"startsAt":"2026-11-21T22:27:44.426Z","endsAt":"2099-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph"}', ${name}, desc)
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return wrk.format("POST", "${opts.path}", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer ${opts.token}"}, body)
end
`);
  return file;
}

export function runWrk(url: string, opts: { script: string; seconds: number; connections: number; threads?: number }): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const args = [`-t${opts.threads ?? 1}`, `-c${opts.connections}`, `-d${opts.seconds}s`, '--latency', '-s', opts.script, url];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    child.on('error', reject);
    // 'close', not 'exit': the process can exit before its output has been read to the end.
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
      const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 'NaN');
      const ms = (re: RegExp) => {
        const m = re.exec(out);
        if (!m) return NaN;
        const v = Number(m[1]);
        return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
      };
      const rps = num(/Requests\/sec:\s+([\d.]+)/);
      // connect, read, write, timeout; wrk prints the line only when one is not zero.
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1).map(Number) ?? [0, 0, 0, 0];
      // A run wrk could not summarise must not become a NaN in the table: say what it printed.
      if (Number.isNaN(rps)) return reject(new Error(`wrk printed no rate: ${out}`));
      resolve({
        rps,
        p50ms: ms(/50%\s+([\d.]+)(us|ms|s)/),
        p99ms: ms(/99%\s+([\d.]+)(us|ms|s)/),
        non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
        errors: socket.reduce((a, b) => a + b, 0),
        timeouts: socket[3],
      });
    });
  });
}

/**
 * What wrk counted: non-2xx answers and socket errors. wrk's "timeout" socket errors are answers that
 * came after its 2 s timeout: counted in the rate, left out of its latency percentiles (so a p99 is
 * too low when they pass 1% of the requests).
 */
export interface WrkErrors { non2xx: number; socket: number; timeouts: number }

export const noErrors = (): WrkErrors => ({ non2xx: 0, socket: 0, timeouts: 0 });

export const wrkErrors = (r: WrkResult): WrkErrors => ({ non2xx: r.non2xx, socket: r.errors, timeouts: r.timeouts });

export function addErrors(to: WrkErrors, more: readonly WrkErrors[]): WrkErrors {
  for (const e of more) {
    to.non2xx += e.non2xx;
    to.socket += e.socket;
    to.timeouts += e.timeouts;
  }
  return to;
}

/** "0", or "3 non-2xx and 26 socket errors (26 of them answers after wrk's 2 s timeout)". */
export function errorsText(e: WrkErrors): string {
  if (e.non2xx + e.socket === 0) return '0';
  const late = e.timeouts ? ` (${e.timeouts} of them answers after wrk's 2 s timeout, left out of its percentiles)` : '';
  const socket = e.socket ? `${e.socket} socket error${e.socket === 1 ? '' : 's'}${late}` : '';
  return [e.non2xx ? `${e.non2xx} non-2xx` : '', socket].filter(Boolean).join(' and ');
}
