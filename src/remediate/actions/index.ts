// The action registry: one entry per ActionName, checked by the type system.
import type { ActionName } from '../../domain/types.ts';
import { deleteStuckPods } from './delete-stuck-pods.ts';
import { restartPod } from './restart-pod.ts';
import { rollback } from './rollback.ts';
import { scaleDown, scaleUp } from './scale.ts';
import { noParams } from './params.ts';
import { type Action, skip } from './types.ts';
import { webhookAction } from './webhook.ts';

const none: Action = {
  name: 'none',
  params: noParams('none'),
  plan: async () => skip('no-action', 'the rule has no remediation action'),
};

export const ACTION_REGISTRY: Record<ActionName, Action> = {
  'none': none,
  'restart-pod': restartPod,
  'scale-up': scaleUp,
  'scale-down': scaleDown,
  'rollback': rollback,
  'delete-stuck-pods': deleteStuckPods,
  'webhook': webhookAction,
};

export type { Action,  Plan } from './types.ts';
