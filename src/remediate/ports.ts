// Metrics remediation reports through, implemented by the composition root with prom-client (Logger
// and Clock are the shared ports in src/domain/ports.ts; leadership metrics are in src/leader).
/** Implemented by the app with prom-client; every method is optional to call sites via `?.`. */
export interface RemediationMetrics {
  /** One per audited decision: outcome is the audit outcome, reason the named reason ('' when none). */
  onDecision(action: string, outcome: string, reason: string): void;
  /** One per checked outcome (DESIGN §6a): effective or ineffective. */
  onOutcome?(action: string, outcome: string): void;
}
