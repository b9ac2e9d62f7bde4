/**
 * What apply reports (docs/architecture.md, "Apply"): one outcome per action, and the observers that hear about
 * progress (the journal and the logger). Plain data.
 */
import type { ErrorCode } from "../errors.js";
import type { Argv } from "../exec.js";
import type { ActionBase as Action, Plan } from "../plan/types.js";

/**
 * One action's outcome:
 * - applied:   every command exited 0
 * - unchanged: nothing needed doing after all (a destroy target already gone)
 * - failed:    a command failed or a precondition did not hold; later actions on the resource are skipped
 * - skipped:   not run, because a dependency or an earlier action on the same resource did not
 *              succeed, or because the agent was asked to stop (SIGTERM) before it started
 */
export type ActionOutcome =
  | { readonly action: string; readonly status: "applied"; readonly durationMs: number }
  | { readonly action: string; readonly status: "unchanged"; readonly why: string; readonly durationMs: number }
  | {
      readonly action: string;
      readonly status: "failed";
      readonly code: ErrorCode;
      /** The command that failed (for a precondition, the check). */
      readonly argv: Argv | null;
      readonly exitCode: number | null;
      readonly stderr: string;
      readonly message: string;
      readonly durationMs: number;
    }
  | { readonly action: string; readonly status: "skipped"; readonly because: "dependency-failed" | "resource-failed" | "stopped"; readonly blockedBy: string };

export type OutcomeStatus = ActionOutcome["status"];

export interface ApplySummary {
  readonly applied: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly skipped: number;
}

export interface ApplyResult {
  readonly plan: string;
  /** True when no action failed or was skipped. */
  readonly ok: boolean;
  readonly outcomes: readonly ActionOutcome[];
  readonly summary: ApplySummary;
}

/**
 * Hears about apply's progress. Methods may be async: apply awaits each before going on, so a
 * journal entry is durable before the command it announces runs. An observer that throws
 * aborts the apply (a journal that cannot be written is not something to run past).
 */
export interface ApplyObserver {
  onApplyStart?(plan: Plan): void | Promise<void>;
  onActionStart?(action: Action): void | Promise<void>;
  onActionEnd?(action: Action, outcome: ActionOutcome): void | Promise<void>;
  /**
   * The pipelines of the running action moved `bytes` so far (at most once a second), of about
   * `estimateBytes` when its driver could tell (PipelineStep.estimateBytes; bytes may pass it).
   * Not awaited, and what it throws is ignored: progress is for people, it must not stop a send.
   */
  onActionProgress?(action: Action, bytes: number, estimateBytes?: number): void;
  onApplyEnd?(plan: Plan, result: ApplyResult): void | Promise<void>;
}
