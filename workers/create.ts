import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, type LogLevel, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { embedLayer, emitPrunedCheckpoint, extractLayerFeatures, scoreEmbedding } from '../activities/index.js';
import type { TemporalConfig } from './config.js';

const WORKFLOWS = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

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
    activities: { extractLayerFeatures },
    maxConcurrentActivityTaskExecutions: 1,
  });
}

/** Orchestration and the CPU steps; one t-SNE per core. */
export function createCpuWorker(connection: NativeConnection, config: TemporalConfig): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueues.cpu,
    workflowsPath: WORKFLOWS,
    activities: { embedLayer, scoreEmbedding, emitPrunedCheckpoint },
    maxConcurrentActivityTaskExecutions: Math.max(1, availableParallelism()),
  });
}
