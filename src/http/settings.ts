// Settings API: `enabled`, `dryRun`, `maxActionsPerHour` (camelCase like the JSON API), and the
// original API's `dry_run` / `max_actions_per_hour`. Unknown keys are a 400 naming them.
import { z } from 'zod';
import { AppError } from '../domain/errors.ts';
import type { Settings } from '../store/types.ts';

const patchSchema = z.strictObject({
  enabled: z.boolean().optional(),
  dryRun: z.boolean().optional(),
  dry_run: z.boolean().optional(),
  maxActionsPerHour: z.number().int().min(0).max(100_000).optional(),
  max_actions_per_hour: z.number().int().min(0).max(100_000).optional(),
  // DESIGN §6a: every action waits for a human.
  requireApproval: z.boolean().optional(),
  require_approval: z.boolean().optional(),
});

/** Pure: apply a POST body to the current settings. */
export function applySettingsPatch(current: Settings, body: unknown): Settings {
  const parsed = patchSchema.safeParse(body);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => i.code === 'unrecognized_keys'
      ? { path: i.keys.join(', '), message: 'unknown settings key (allowed: enabled, dryRun, maxActionsPerHour, requireApproval)' }
      : { path: i.path.join('.') || 'body', message: i.message });
    throw new AppError('invalid_settings', `Invalid settings: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
  }
  const p = parsed.data;
  return {
    enabled: p.enabled ?? current.enabled,
    dryRun: p.dryRun ?? p.dry_run ?? current.dryRun,
    maxActionsPerHour: p.maxActionsPerHour ?? p.max_actions_per_hour ?? current.maxActionsPerHour,
    requireApproval: p.requireApproval ?? p.require_approval ?? current.requireApproval ?? false,
  };
}
