// Build a JSON merge patch (RFC 7396) that turns `from` into `to`. A plain `{spec: {template: to}}`
// would MERGE into the live template and keep labels, env vars' siblings, etc. that the target does
// not have; the diff nulls those out so the result is exactly `to`, as a rollback needs.
//
// Kept by hand (30 lines, round-trip tested): of the npm generators, json-merge-patch has had no
// release since 2021 and answers equal primitives with a patch, json8-merge-patch answers "no change"
// with `{}` and has no types, and tiny-merge-patch only applies patches.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** The patch, or undefined when `from` already equals `to`. */
export function createMergePatch(from: unknown, to: unknown): Json | undefined {
  if (!isObject(from) || !isObject(to)) return jsonEqual(from, to) ? undefined : (to as Json);
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (!(k in from)) {
      // A null in the target means "absent" in a merge patch; there is nothing to add.
      if (v !== null) patch[k] = v as Json;
      continue;
    }
    const d = createMergePatch(from[k], v);
    if (d !== undefined) patch[k] = d;
  }
  return Object.keys(patch).length ? patch : undefined;
}
