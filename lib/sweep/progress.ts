/**
 * A sweep's progress: each planned child's status and the counts, from the outcomes of the
 * children that finished and the set of those running. Pure, so the sweep workflow, its query
 * and the CLI agree on one count.
 */
import type { SweepPlan } from './config.js';

/** What a finished child left behind: small, so hundreds fit in a continue-as-new input. */
export type ChildOutcome =
  /** `stable` only for runs with repeats: whether every repeat's cut equals the mean curve's. */
  { status: 'done'; keptBlocks: number[]; blocks: number; stable?: boolean } | ({ status: 'failed' } & ChildFailure);

/** A failed child's innermost message, the stage it failed in and the file at fault. */
export interface ChildFailure {
  error: string;
  stage?: string;
  file?: string;
  /** A non-retryable InputError: the input must change before the child can succeed. */
  badInput: boolean;
}

export type ChildStatus = 'pending' | 'running' | ChildOutcome['status'];

export interface SweepChildProgress {
  childId: string;
  datasetName: string;
  modelName: string;
  seed: number;
  status: ChildStatus;
  keptBlocks?: number[];
  blocks?: number;
  stable?: boolean;
  error?: string;
  stage?: string;
  file?: string;
  badInput?: boolean;
}

export interface SweepProgress {
  sweepId: string;
  name: string;
  alphas: number[];
  total: number;
  pending: number;
  running: number;
  done: number;
  failed: number;
  children: SweepChildProgress[];
}

export function sweepProgress(
  plan: SweepPlan,
  outcomes: Readonly<Record<string, ChildOutcome>>,
  running: ReadonlySet<string>,
): SweepProgress {
  const children = plan.children.map((child): SweepChildProgress => {
    const outcome = outcomes[child.childId];
    const base = { childId: child.childId, datasetName: child.datasetName, modelName: child.modelName, seed: child.seed };
    if (outcome) return { ...base, ...outcome };
    return { ...base, status: running.has(child.childId) ? 'running' : 'pending' };
  });
  const count = (status: ChildStatus) => children.filter((child) => child.status === status).length;
  return {
    sweepId: plan.sweepId,
    name: plan.name,
    alphas: plan.alphas,
    total: children.length,
    pending: count('pending'),
    running: count('running'),
    done: count('done'),
    failed: count('failed'),
    children,
  };
}
