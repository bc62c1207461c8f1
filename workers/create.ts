import { availableParallelism } from 'node:os';
import { DefaultLogger, type LogLevel, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { EmbedInput } from '../activities/embed.js';
import type { EmitInput } from '../activities/emit.js';
import type { ExtractInput } from '../activities/extract.js';
import { embedLayer, emitPrunedCheckpoint, extractLayerFeatures, scoreEmbedding } from '../activities/index.js';
import { packagePath } from '../lib/packageRoot.js';
import { QuietHost } from '../lib/quietHost.js';
import type { TemporalConfig } from './config.js';

const WORKFLOWS = packagePath('workflows', 'index.ts');

/**
 * The host every worker of this process shares: extracts, t-SNEs and emits are busy work on it,
 * and emit's speed rounds wait until none runs (and hold new ones back meanwhile), so that they
 * time the models, not a t-SNE of another dataset beside them.
 */
const HOST = new QuietHost();

/**
 * Where a worker gets its workflow code: a bundle made beforehand (SLS_WORKFLOW_BUNDLE, the path
 * of a file that bundleWorkflowCode wrote; saves the seconds of bundling at every worker start,
 * e.g. in an image or a test run) or the sources, bundled at start.
 */
export function workflowSource(env: NodeJS.ProcessEnv = process.env): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const codePath = env.SLS_WORKFLOW_BUNDLE;
  return codePath ? { workflowBundle: { codePath } } : { workflowsPath: WORKFLOWS };
}

/** The SDK logs every worker state change at INFO; SLS_LOG_LEVEL chooses (ERROR unless set). */
export function installLogging(level = (process.env.SLS_LOG_LEVEL ?? 'ERROR') as LogLevel): void {
  Runtime.install({ logger: new DefaultLogger(level) });
}

export function connect(config: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.address, tls: config.tls });
}

/** Feature extraction: one forward pass at a time, so the accelerator is not shared. */
export function createGpuWorker(connection: NativeConnection, config: TemporalConfig): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueues.gpu,
    activities: { extractLayerFeatures: (input: ExtractInput) => extractLayerFeatures(input, { host: HOST }) },
    maxConcurrentActivityTaskExecutions: 1,
  });
}

/**
 * Threads for each t-SNE when `concurrentRuns` of them may run at once on `cores` cores:
 * max(1, floor(cores / concurrentRuns)), so that their helpers, which spin at lockstep barriers,
 * never outnumber the cores (one t-SNE per core: one thread each; a lone t-SNE: all of them).
 * The result of a t-SNE does not depend on its thread count.
 */
export function tsneThreadsPerRun(cores: number, concurrentRuns: number): number {
  return Math.max(1, Math.floor(cores / Math.max(1, concurrentRuns)));
}

/**
 * Orchestration and the CPU steps: one activity per core, so each t-SNE runs on
 * tsneThreadsPerRun(cores, cores) = 1 thread and together they fill the cores without
 * oversubscribing them.
 */
export function createCpuWorker(connection: NativeConnection, config: TemporalConfig): Promise<Worker> {
  const cores = Math.max(1, availableParallelism());
  const concurrentActivities = cores;
  const threads = tsneThreadsPerRun(cores, concurrentActivities);
  return Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueues.cpu,
    ...workflowSource(),
    activities: {
      embedLayer: (input: EmbedInput) => embedLayer(input, { threads, host: HOST }),
      scoreEmbedding,
      emitPrunedCheckpoint: (input: EmitInput) => emitPrunedCheckpoint(input, { host: HOST }),
    },
    maxConcurrentActivityTaskExecutions: concurrentActivities,
  });
}
