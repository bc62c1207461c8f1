/**
 * What went wrong in a run, dug out of a Temporal failure's cause chain (WorkflowFailedError ->
 * ChildWorkflowFailure -> ActivityFailure -> ApplicationFailure): the innermost message, which is
 * the step's own words. Deterministic, so the sweep workflow records it for its failed children
 * and the CLI prints it for a run, a sweep or a status.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';

export interface FailureCause {
  /** The innermost error's message: for bad input, the file and the problem. */
  message: string;
  /** The pipeline step that failed (extract, embed, score, emit), when it is known. */
  stage?: string;
  /** The user's file the problem is in, for bad input. */
  file?: string;
  /** A non-retryable InputError: the input must change before a run can succeed. */
  badInput: boolean;
}

/** The stage of each activity, as the workflow's Stage search attribute names it. */
const ACTIVITY_STAGES: Record<string, string> = {
  extractLayerFeatures: 'extract',
  embedLayer: 'embed',
  scoreEmbedding: 'score',
  emitPrunedCheckpoint: 'emit',
};

/** What activities and the workflow attach to a bad-input failure. */
interface BadInputDetails {
  stage?: string;
  file?: string;
}

export function innermostCause(error: unknown): FailureCause {
  let current = error;
  let stage: string | undefined;
  while (current instanceof Error && current.cause !== undefined) {
    if (current instanceof ActivityFailure) stage = ACTIVITY_STAGES[current.activityType] ?? current.activityType;
    current = current.cause;
  }
  if (!(current instanceof Error)) return { message: String(current), stage, badInput: false };
  if (!(current instanceof ApplicationFailure)) return { message: current.message, stage, badInput: false };
  const details = (current.details?.[0] ?? {}) as BadInputDetails;
  return {
    message: current.message,
    stage: stage ?? details.stage,
    file: details.file,
    badInput: current.type === 'InputError' && current.nonRetryable === true,
  };
}
