// An action's params, declared once next to the action. rules.yaml gives them as strings (numbers are
// kept as written); the action's schema checks them and turns them into what the action uses. The
// rule loader (classify/schema.ts) runs the same schema, so a typo or an out-of-range value fails the
// rules load, naming the rule and the param, instead of skipping a remediation at 3 a.m.
import { z } from 'zod';

export type RawParams = Record<string, string>;
export type ParamsSchema<T = unknown> = z.ZodType<T, RawParams>;
type Report = (param: string, message: string) => void;

/**
 * A schema from the param names the action takes and a reader that reports each bad value under its
 * param. Every unknown name and every bad value is reported, so one load lists them all.
 */
export function defineParams<T>(action: string, names: readonly string[], read: (params: RawParams, report: Report) => T): ParamsSchema<T> {
  const takes = names.length === 0 ? `${action} takes no params` : `${action} takes ${names.join(', ')}`;
  return z.record(z.string(), z.string()).transform((params, ctx) => {
    let bad = false;
    const report: Report = (param, message) => {
      bad = true;
      ctx.addIssue({ code: 'custom', path: [param], message });
    };
    for (const name of Object.keys(params)) if (!names.includes(name)) report(name, `unknown param "${name}" (${takes})`);
    const value = read(params, report);
    return bad ? z.NEVER : value;
  });
}

/** The params read by their schema, or the first problem in words (the action's `invalid-params` detail). */
export function readParams<T>(schema: ParamsSchema<T>, params: RawParams): { ok: true; value: T } | { ok: false; message: string } {
  const r = schema.safeParse(params);
  return r.success ? { ok: true, value: r.data } : { ok: false, message: r.error.issues[0]?.message ?? 'invalid params' };
}

/**
 * For actions that take none (none, restart-pod, rollback): params are ignored, as the original server
 * did. DESIGN §4's reference rule gives restart-pod scale params, and such a file must keep loading;
 * there is no name of theirs to mistype.
 */
export const noParams = (_action: string): ParamsSchema<Record<string, never>> =>
  z.record(z.string(), z.string()).transform(() => ({}));
