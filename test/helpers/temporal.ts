import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type DevServerConfig, TestWorkflowEnvironment } from '@temporalio/testing';
import type { TemporalConfig } from '../../workers/config.js';
import { createCpuWorker, createGpuWorker, installLogging } from '../../workers/create.js';
import type { PruneDatasetInput } from '../../workflows/pruneDataset.js';
import { ALPHA, DATASET, KEPT_LAYERS, STABLE, STAGE, SWEEP } from '../../workflows/searchAttributes.js';
import { MODEL, TRAIN, temporaryDir } from './fixtures.js';

const TEMPORAL_SCRIPT = fileURLToPath(new URL('../../infra/temporal.sh', import.meta.url));

/**
 * A real Temporal dev server (the CLI that infra/setup.sh installed), on free ports, with the
 * project's search attributes: the tests never mock the server.
 */
export async function startTemporal(server: Partial<DevServerConfig> = {}): Promise<TestWorkflowEnvironment> {
  // Worker state changes and expected activity failures would drown the test report.
  installLogging('WARN');
  const path = execFileSync('bash', [TEMPORAL_SCRIPT, 'path'], { encoding: 'utf8' }).trim();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      searchAttributes: [DATASET, SWEEP, STAGE, ALPHA, KEPT_LAYERS, STABLE],
      ...server,
    },
  });
}

/** A worker configuration of its own for a test: fresh task queues and artifact root. */
export function testConfig(address: string): TemporalConfig {
  const suffix = randomUUID().slice(0, 8);
  return {
    address,
    namespace: 'default',
    tls: undefined,
    taskQueues: { gpu: `gpu-${suffix}`, cpu: `cpu-${suffix}` },
    artifactRoot: temporaryDir('sls-artifacts-'),
  };
}

/** A PruneDatasetWorkflow input: the fixture ViT on the digits train split, alpha 0.3, seed 0, on `config`. */
export function digitsPruneInput(config: TemporalConfig, overrides: Partial<PruneDatasetInput> = {}): PruneDatasetInput {
  return {
    model: MODEL,
    data: TRAIN,
    datasetName: 'digits',
    alphas: [0.3],
    seed: 0,
    artifactRoot: config.artifactRoot,
    taskQueues: config.taskQueues,
    ...overrides,
  };
}

export interface Testbed {
  env: TestWorkflowEnvironment;
  config: TemporalConfig;
  stop(): Promise<void>;
}

/** A real dev server with the project's GPU and CPU workers polling fresh queues. */
export async function startTestbed(): Promise<Testbed> {
  const env = await startTemporal();
  const config = testConfig(env.address);
  const workers = [await createGpuWorker(env.nativeConnection, config), await createCpuWorker(env.nativeConnection, config)];
  const running = Promise.all(workers.map((worker) => worker.run()));
  return {
    env,
    config,
    async stop() {
      for (const worker of workers) worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}
