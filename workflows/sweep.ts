import type { Duration } from '@temporalio/common';
import {
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SweepChildPlan, SweepPlan } from '../lib/sweep/config.js';
import { type ChildOutcome, type SweepProgress, sweepProgress } from '../lib/sweep/progress.js';
import { innermostCause } from './failureCause.js';
import { type PruneDatasetInput, PruneDatasetWorkflow, type TaskQueues } from './pruneDataset.js';
import { DATASET, SWEEP } from './searchAttributes.js';

export interface SweepInput {
  plan: SweepPlan;
  artifactRoot: string;
  taskQueues: TaskQueues;
  /** Passed to every child: how long a step may go silent before it is retried. */
  heartbeatTimeout?: Duration;
  /** Children started per run before continuing as new, which keeps each run's history small. */
  childrenPerRun?: number;
  /** Outcomes carried over from earlier runs (continue-as-new, or `sls retry` of a finished sweep). */
  outcomes?: Record<string, ChildOutcome>;
}

export interface SweepResult extends SweepProgress {
  /** The input without its outcomes: what `sls retry` needs to start the sweep again. */
  input: Omit<SweepInput, 'outcomes'>;
}

export const sweepProgressQuery = defineQuery<SweepProgress>('sweepProgress');
/** Puts the failed children back in the queue of a running sweep. */
export const retryFailedSignal = defineSignal('retryFailed');

/** About 10 history events per child: 100 per run stays far under Temporal's 10,240-event warning. */
const CHILDREN_PER_RUN = 100;
const ERROR_LENGTH = 500;

/** A failed child's outcome: the innermost cause, the activity's own words (file, key, why). */
function failedOutcome(error: unknown): ChildOutcome {
  const { message, ...where } = innermostCause(error);
  return { status: 'failed', error: message.slice(0, ERROR_LENGTH), ...where };
}

function childInput(input: SweepInput, child: SweepChildPlan): PruneDatasetInput {
  const { plan } = input;
  return {
    model: child.model,
    data: child.data,
    evalData: child.evalData,
    datasetName: child.datasetName,
    alphas: plan.alphas,
    seed: child.seed,
    artifactRoot: input.artifactRoot,
    // Every alpha is decided from one curve, and the report draws the whole of it.
    fullCurve: true,
    waveSize: plan.waveSize,
    repeats: plan.repeats,
    tsneGradient: plan.tsneGradient,
    modelOptions: child.modelOptions,
    taskQueues: input.taskQueues,
    heartbeatTimeout: input.heartbeatTimeout,
  };
}

/**
 * One PruneDatasetWorkflow per (model, dataset, seed), at most `concurrency` at a time. Children
 * are named by the sweep's content-hash ID, so a relaunched sweep reaches the same artifacts.
 */
export async function SweepWorkflow(input: SweepInput): Promise<SweepResult> {
  const { plan } = input;
  const outcomes: Record<string, ChildOutcome> = { ...input.outcomes };
  const queue = plan.children.filter((child) => !outcomes[child.childId]);
  const running = new Set<string>();
  let startedThisRun = 0;

  const progress = () => sweepProgress(plan, outcomes, running);
  const showProgress = () => {
    const { total, done, running: active, failed } = progress();
    setCurrentDetails(`**${plan.name}**: ${done} of ${total} done, ${active} running, ${failed} failed`);
  };
  setHandler(sweepProgressQuery, progress);
  setHandler(retryFailedSignal, () => {
    for (const child of plan.children) {
      if (outcomes[child.childId]?.status === 'failed') {
        delete outcomes[child.childId];
        queue.push(child);
      }
    }
    showProgress();
  });
  upsertSearchAttributes([{ key: SWEEP, value: plan.sweepId }]);

  const launch = async (child: SweepChildPlan): Promise<void> => {
    running.add(child.childId);
    startedThisRun++;
    showProgress();
    try {
      const result = await executeChild(PruneDatasetWorkflow, {
        args: [childInput(input, child)],
        workflowId: child.childId,
        taskQueue: input.taskQueues.cpu,
        staticSummary: `${child.datasetName} · ${child.modelName} · seed ${child.seed} (sweep ${plan.name})`,
        staticDetails: `model \`${child.model}\`\n\ndata \`${child.data}\`\n\nalphas ${plan.alphas.join(', ')}`,
        typedSearchAttributes: [
          { key: SWEEP, value: plan.sweepId },
          { key: DATASET, value: child.datasetName },
        ],
      });
      outcomes[child.childId] = {
        status: 'done',
        keptBlocks: result.decisions.map((decision) => decision.keptBlocks),
        blocks: result.scores.length,
        ...(result.repeats && { stable: result.repeats.stable }),
      };
    } catch (error) {
      // A cancelled sweep ends as cancelled, its children with it; that is no child's failure.
      if (isCancellation(error)) return;
      outcomes[child.childId] = failedOutcome(error);
    } finally {
      running.delete(child.childId);
      showProgress();
    }
  };

  const budget = input.childrenPerRun ?? CHILDREN_PER_RUN;
  const mayStart = () => startedThisRun < budget && !workflowInfo().continueAsNewSuggested;
  try {
    for (;;) {
      while (running.size < plan.concurrency && queue.length > 0 && mayStart()) {
        void launch(queue.shift() as SweepChildPlan);
      }
      if (running.size === 0) {
        if (queue.length === 0) break;
        // This run's share is done and drained (no child outlives it): the rest in a fresh history.
        await continueAsNew<typeof SweepWorkflow>({ ...input, outcomes });
      }
      await condition(() => running.size === 0 || (running.size < plan.concurrency && queue.length > 0 && mayStart()));
    }
  } catch (error) {
    // Cancelled: the children are being cancelled too; end only once they have.
    if (isCancellation(error)) await CancellationScope.nonCancellable(() => condition(() => running.size === 0));
    throw error;
  }

  const { outcomes: _, ...rest } = input;
  return { ...progress(), input: rest };
}
