// Routes compiled once at startup. Namespaces and labels go through the rules' own matcher code
// (src/classify/compile.ts), so `!kube-system`, `~web-.*` and `!batch` mean exactly what they mean
// in rules.yaml; priorities and rules are lists like namespaces (exact, or `!` to exclude).
import { compileMatchers, matchText, type Matcher, type RuleIssue } from '../classify/compile.ts';
import type { RouteConfig } from '../config/notifications.ts';
import { LoadError } from '../domain/errors.ts';
import type { Signal } from '../domain/types.ts';
import type { NotifyKind } from '../store/outbox.ts';
import type { ErrorGroup } from '../store/types.ts';

export interface CompiledRoute {
  readonly name: string;
  readonly receivers: readonly string[];
  readonly on: readonly NotifyKind[];
  readonly repeatMs: number;
  matches(group: ErrorGroup): boolean;
}

/** Include/exclude list semantics shared with rules' `namespaces`: `!x` always excludes. */
function listMatcher(entries: readonly string[]): (value: string) => boolean {
  const include = entries.filter((e) => !e.startsWith('!'));
  const exclude = entries.filter((e) => e.startsWith('!')).map((e) => e.slice(1));
  return (v) => !exclude.includes(v) && (include.length === 0 || include.includes(v));
}

/** The parts of a Signal the namespace and label matchers read, taken from a stored group. */
function asSignal(g: ErrorGroup): Signal {
  return {
    source: g.source, channel: 'alerts-v2', title: g.title, message: g.message, labels: g.labels, annotations: {},
    namespace: g.namespace, pod: g.pod, container: g.container, owner: null, reason: '', eventType: '',
    state: g.status, startsAt: 0, endsAt: null, occurrenceKey: '', occurrenceCount: 1, alertFingerprint: g.alertFingerprint,
    generatorUrl: '',
  };
}

export function compileRoutes(routes: readonly RouteConfig[], file = 'notifications.routes'): CompiledRoute[] {
  const issues: RuleIssue[] = [];
  const compiled = routes.map((r, i): CompiledRoute => {
    const name = r.name ?? `routes[${i}]`;
    const m = r.match;
    const matchers: Matcher[] = compileMatchers(name, {
      namespaces: m.namespaces.length > 0 ? m.namespaces : undefined,
      labels: Object.keys(m.labels).length > 0 ? m.labels : undefined,
    }, ['notifications', 'routes', i, 'match'], issues);
    const priority = listMatcher(m.priorities);
    const rule = listMatcher(m.rules);
    return Object.freeze({
      name,
      receivers: Object.freeze([...new Set(r.receivers)]),
      on: Object.freeze([...r.on]),
      repeatMs: r.repeat_interval,
      matches(g: ErrorGroup): boolean {
        if (!priority(g.priority) || !rule(g.rule ?? '')) return false;
        const s = asSignal(g);
        const t = matchText(g.message);
        return matchers.every((x) => x.test(s, t));
      },
    });
  });
  if (issues.length > 0) throw new LoadError(file, issues.map((x) => ({ path: x.path.join('.'), message: x.message })));
  return compiled;
}
