/**
 * `sls run` as a Temporal client: make sure a server and workers are there, start (or attach to)
 * PruneDatasetWorkflow, and wait for its result.
 */
import { execFileSync } from 'node:child_process';
import { basename, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { keyedGradient } from '../lib/embed/tsne/gradients.js';
import { datasetDigest } from '../lib/io/datasets.js';
import { modelDigest } from '../lib/onnx/model.js';
import { packagePath } from '../lib/packageRoot.js';
import { artifactKey } from '../lib/store/artifacts.js';
import type { TemporalConfig } from '../workers/config.js';
import { connect as connectWorker, createCpuWorker, createGpuWorker, installLogging } from '../workers/create.js';
import type { PruneDatasetInput, PruneDatasetResult } from '../workflows/pruneDataset.js';
import { DATASET } from '../workflows/searchAttributes.js';

const TEMPORAL_SCRIPT = packagePath('infra', 'temporal.sh');

function isLoopback(address: string): boolean {
  return /^(127\.|localhost|\[::1\])/.test(address);
}

/** Connects to Temporal; on this machine, starts the local dev server first when none answers. */
export async function connectOrStartLocal(config: TemporalConfig): Promise<Connection> {
  try {
    return await Connection.connect({ address: config.address, tls: config.tls, connectTimeout: '3s' });
  } catch (error) {
    if (!isLoopback(config.address)) throw error;
    execFileSync('bash', [TEMPORAL_SCRIPT, 'start'], { stdio: ['ignore', process.stderr, process.stderr] });
    return Connection.connect({ address: config.address, tls: config.tls });
  }
}

async function hasPollers(connection: Connection, config: TemporalConfig, taskQueue: string, kind: 1 | 2): Promise<boolean> {
  const response = await connection.workflowService.describeTaskQueue({
    namespace: config.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: kind,
  });
  return (response.pollers ?? []).length > 0;
}

export type PipelineInput = Omit<PruneDatasetInput, 'datasetName' | 'artifactRoot' | 'taskQueues'> & { datasetName?: string };

/** The workflow ID is a hash of the inputs: launching the same run twice attaches to the first. */
async function workflowId(input: PruneDatasetInput): Promise<string> {
  const key = artifactKey({
    ...input,
    tsneGradient: keyedGradient(input.tsneGradient),
    model: await modelDigest(input.model),
    data: await datasetDigest(input.data),
  });
  return `prune-${input.datasetName}-${key.slice(0, 16)}`;
}

export interface PipelineRun {
  workflowId: string;
  runId: string;
  result: PruneDatasetResult;
  /** Whether this process had to run the workers itself. */
  embeddedWorker: boolean;
}

/**
 * Runs `execute` (which starts a workflow and waits for it); when no worker polls the project's
 * queues, this process runs the GPU and CPU workers itself until `execute` settles.
 */
export async function runWithWorkers<T>(
  connection: Connection,
  config: TemporalConfig,
  execute: () => Promise<T>,
): Promise<{ value: T; embeddedWorker: boolean }> {
  // The server lists a worker that just exited among the pollers for minutes, so on this machine
  // the CLI always brings its own workers (a separate `sls worker` shares the work). On a cluster,
  // WORKFLOW (1) pollers on the CPU queue and ACTIVITY (2) pollers on the GPU queue mean workers run.
  const needsWorker =
    isLoopback(config.address) ||
    !(await hasPollers(connection, config, config.taskQueues.cpu, 1)) ||
    !(await hasPollers(connection, config, config.taskQueues.gpu, 2));
  if (!needsWorker) return { value: await execute(), embeddedWorker: false };
  installLogging();
  const workerConnection = await connectWorker(config);
  try {
    const workers = [await createGpuWorker(workerConnection, config), await createCpuWorker(workerConnection, config)];
    const outcome = execute();
    const runs = workers.map((worker) => worker.runUntil(outcome));
    try {
      await Promise.all(runs);
    } catch (error) {
      // The connection can close only once every worker has stopped; a crashed worker must not
      // leave the other waiting on a workflow that nobody runs.
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.allSettled(runs);
      throw error;
    }
    return { value: await outcome, embeddedWorker: true };
  } finally {
    await workerConnection.close();
  }
}

export async function runPipeline(config: TemporalConfig, pipeline: PipelineInput): Promise<PipelineRun> {
  const model = resolve(pipeline.model);
  const data = resolve(pipeline.data);
  const input: PruneDatasetInput = {
    ...pipeline,
    model,
    data,
    datasetName: pipeline.datasetName ?? basename(data).replace(/\.[^.]+$/, ''),
    artifactRoot: config.artifactRoot,
    taskQueues: config.taskQueues,
  };
  const connection = await connectOrStartLocal(config);
  const client = new Client({ connection, namespace: config.namespace });
  const id = await workflowId(input);
  const execute = async () => {
    const handle = await client.workflow.start('PruneDatasetWorkflow', {
      args: [input],
      taskQueue: config.taskQueues.cpu,
      workflowId: id,
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [{ key: DATASET, value: input.datasetName }],
    });
    return { runId: handle.firstExecutionRunId, result: (await handle.result()) as PruneDatasetResult };
  };
  try {
    const { value, embeddedWorker } = await runWithWorkers(connection, config, execute);
    return { workflowId: id, ...value, embeddedWorker };
  } finally {
    await connection.close();
  }
}
