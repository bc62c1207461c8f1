/**
 * Sweeps as a Temporal client: launch (or attach), follow, cancel and retry a SweepWorkflow.
 *
 * Retry: in a running sweep, the `retryFailed` signal puts the failed children back in its queue.
 * A finished sweep is started again under the same ID with the finished children's outcomes
 * carried over, so only the failed ones run. A failed, cancelled or terminated sweep is resumed
 * with `sls sweep FILE` again: its children redo only the steps whose artifacts are missing.
 */
import { stat } from 'node:fs/promises';
import { type Client, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { InputError } from '../lib/errors.js';
import { loadSweep, type SweepPlan } from '../lib/sweep/config.js';
import type { ChildOutcome, SweepProgress } from '../lib/sweep/progress.js';
import type { TemporalConfig } from '../workers/config.js';
import { type PruneProgress, progressQuery } from '../workflows/pruneDataset.js';
import { STAGE, SWEEP } from '../workflows/searchAttributes.js';
import { retryFailedSignal, type SweepInput, type SweepResult, type SweepWorkflow, sweepProgressQuery } from '../workflows/sweep.js';

/** A sweep named by its file (the ID is computed from its content) or by its workflow ID. */
export async function resolveSweepId(sweep: string): Promise<string> {
  const isFile = await stat(sweep).then(
    (info) => info.isFile(),
    () => false,
  );
  return isFile ? (await loadSweep(sweep)).sweepId : sweep;
}

export function sweepInput(plan: SweepPlan, config: TemporalConfig, childrenPerRun?: number): SweepInput {
  return { plan, artifactRoot: config.artifactRoot, taskQueues: config.taskQueues, childrenPerRun };
}

export type LaunchState = 'started' | 'attached' | 'finished';

/**
 * Starts the sweep under its content-hash ID. A running one is attached to, a completed one is
 * left as it is (its result stands), a failed or cancelled one is started again.
 */
export async function launchSweep(
  client: Client,
  input: SweepInput,
): Promise<{ handle: WorkflowHandle<typeof SweepWorkflow>; state: LaunchState }> {
  const id = input.plan.sweepId;
  const before = await client.workflow
    .getHandle(id)
    .describe()
    .then(
      (description) => description.status.name,
      () => null,
    );
  try {
    const handle = await client.workflow.start<typeof SweepWorkflow>('SweepWorkflow', {
      args: [input],
      taskQueue: input.taskQueues.cpu,
      workflowId: id,
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [{ key: SWEEP, value: id }],
      staticSummary: `sweep ${input.plan.name}: ${input.plan.children.length} runs, at most ${input.plan.concurrency} at a time`,
    });
    return { handle, state: before === 'RUNNING' ? 'attached' : 'started' };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return { handle: client.workflow.getHandle<typeof SweepWorkflow>(id), state: 'finished' };
  }
}

export interface SweepStatus extends SweepProgress {
  /** The sweep workflow's status: RUNNING, COMPLETED, FAILED, CANCELLED, ... */
  workflowStatus: string;
  /** Stage and layers scored of each running child, by child ID. */
  stages: Record<string, { stage: string; scored: number; layers: number }>;
}

/** The sweep's progress (its query, or its result once it completed) and each running child's stage. */
export async function sweepStatus(client: Client, sweepId: string): Promise<SweepStatus> {
  const handle = client.workflow.getHandle<typeof SweepWorkflow>(sweepId);
  let workflowStatus: string;
  try {
    workflowStatus = (await handle.describe()).status.name;
  } catch {
    throw new InputError(sweepId, 'no such sweep on this Temporal server');
  }
  const progress: SweepProgress = workflowStatus === 'COMPLETED' ? await handle.result() : await handle.query(sweepProgressQuery);
  const stages: SweepStatus['stages'] = {};
  await Promise.all(
    progress.children
      .filter((child) => child.status === 'running')
      .map(async (child) => {
        const childHandle = client.workflow.getHandle(child.childId);
        const childProgress = await childHandle.query<PruneProgress>(progressQuery).catch(async () => {
          // A child without a worker cannot answer; its Stage search attribute still can, once it exists.
          const description = await childHandle.describe().catch(() => null);
          const stage = description?.typedSearchAttributes.get(STAGE) ?? 'starting';
          return { stage, layers: 0, scores: [] };
        });
        stages[child.childId] = {
          stage: childProgress.stage,
          scored: childProgress.scores.filter((score) => score !== null).length,
          layers: childProgress.layers,
        };
      }),
  );
  return { ...progress, workflowStatus, stages };
}

export async function cancelSweep(client: Client, sweepId: string): Promise<void> {
  await client.workflow.getHandle(sweepId).cancel();
}

export type RetryOutcome = { action: 'signalled' } | { action: 'restarted'; failed: number } | { action: 'nothing to retry' };

/** Re-runs the failed children only (see the module comment for how). */
export async function retrySweep(client: Client, sweepId: string): Promise<RetryOutcome> {
  const handle = client.workflow.getHandle<typeof SweepWorkflow>(sweepId);
  const status = (await handle.describe()).status.name;
  if (status === 'RUNNING') {
    await handle.signal(retryFailedSignal);
    return { action: 'signalled' };
  }
  if (status !== 'COMPLETED') {
    throw new InputError(
      sweepId,
      `the sweep is ${status.toLowerCase()}; launch it again with "sls sweep FILE" (finished steps are reused)`,
    );
  }
  const result: SweepResult = await handle.result();
  if (result.failed === 0) return { action: 'nothing to retry' };
  const outcomes: Record<string, ChildOutcome> = {};
  for (const child of result.children) {
    if (child.status === 'done')
      outcomes[child.childId] = { status: 'done', keptBlocks: child.keptBlocks ?? [], blocks: child.blocks ?? 0, stable: child.stable };
  }
  await client.workflow.start<typeof SweepWorkflow>('SweepWorkflow', {
    args: [{ ...result.input, outcomes }],
    taskQueue: result.input.taskQueues.cpu,
    workflowId: sweepId,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [{ key: SWEEP, value: sweepId }],
  });
  return { action: 'restarted', failed: result.failed };
}
