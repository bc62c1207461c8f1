/**
 * Faults an overnight sweep must survive, against real processes: a CPU worker killed in the
 * middle of a t-SNE shard, and the Temporal dev server stopped and started again on its SQLite file.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { launchSweep, sweepInput } from '../../cli/sweepControl.js';
import { loadSweep } from '../../lib/sweep/config.js';
import { createGpuWorker } from '../../workers/create.js';
import type { PruneDatasetResult } from '../../workflows/pruneDataset.js';
import type { SweepResult } from '../../workflows/sweep.js';
import { temporaryDir } from '../helpers/fixtures.js';
import { freePort, killProcess, startWorkerProcess } from '../helpers/processes.js';
import { writeDigitsSweep } from '../helpers/sweeps.js';
import { startTemporal, testConfig } from '../helpers/temporal.js';

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('faults during a sweep', () => {
  it('finishes after the CPU worker is killed in the middle of a t-SNE shard, recomputing no finished artifact', async () => {
    const env: TestWorkflowEnvironment = await startTemporal();
    cleanup.push(() => env.teardown());
    const config = testConfig(env.address);
    // Extraction stays in this process; the CPU steps (and the workflows) run in a worker process.
    const gpu: Worker = await createGpuWorker(env.nativeConnection, config);
    const gpuRunning = gpu.run();
    cleanup.push(async () => {
      gpu.shutdown();
      await gpuRunning;
    });
    let cpu = startWorkerProcess('cpu', config);
    cleanup.push(() => killProcess(cpu));

    // All 1,000 training rows: the t-SNE shard must last long enough for the kill to land inside it.
    const file = await writeDigitsSweep(temporaryDir(), 'kill', 1, 1000, 'waveSize: 1\n');
    const plan = await loadSweep(file);
    const { handle } = await launchSweep(env.client, { ...sweepInput(plan, config), heartbeatTimeout: '10s' });
    const child = env.client.workflow.getHandle(plan.children[0].childId);

    // Mid-shard: an embedLayer attempt has heartbeated (t-SNE iterations under way), and an earlier shard is done.
    const embeddings = join(config.artifactRoot, 'embeddings');
    await until(async () => {
      const pending = (await child.describe()).raw.pendingActivities ?? [];
      const shard = pending.find((activity) => activity.activityType?.name === 'embedLayer' && activity.lastHeartbeatTime);
      const finished = readdirSync(embeddings).filter((name) => name.endsWith('.arrow'));
      return shard && finished.length >= 1 ? true : undefined;
    }, 'an embedLayer shard in progress after a finished one');
    const finishedBefore = new Map(
      readdirSync(embeddings)
        .filter((name) => name.endsWith('.arrow'))
        .map((name) => [name, statSync(join(embeddings, name)).mtimeMs]),
    );
    await killProcess(cpu);

    cpu = startWorkerProcess('cpu', config);
    const result: SweepResult = await handle.result();
    expect(result).toMatchObject({ total: 1, done: 1, failed: 0 });
    const pruned = (await child.result()) as PruneDatasetResult;
    expect(pruned.scores.every((score) => score !== null)).toBe(true);
    // The shards finished before the kill were neither run again nor rewritten.
    for (const [name, mtime] of finishedBefore) expect(statSync(join(embeddings, name)).mtimeMs).toBe(mtime);
    const attempts = (await child.fetchHistory()).events
      ?.filter((event) => event.activityTaskStartedEventAttributes)
      .map((event) => event.activityTaskStartedEventAttributes?.attempt);
    // The killed shard needed a second attempt (on a loaded host a slow one may too).
    expect(attempts?.some((attempt) => attempt === 2)).toBe(true);
  });

  it('resumes and finishes after the Temporal server is stopped and started again on its SQLite file', async () => {
    const port = await freePort();
    const dbFilename = join(temporaryDir('sls-temporal-'), 'temporal.db');
    let env = await startTemporal({ port, dbFilename });
    cleanup.push(() => env.teardown());
    const config = testConfig(`127.0.0.1:${port}`);
    const worker = startWorkerProcess('all', config);
    cleanup.push(() => killProcess(worker));

    const file = await writeDigitsSweep(temporaryDir(), 'restart', 6, 100, 'concurrency: 2\n');
    const plan = await loadSweep(file);
    // An activity task lost in the restart (its dispatch or its completion) is retried once its
    // heartbeat times out: after 2 minutes by default, which once outlasted this test. 10 s here.
    await launchSweep(env.client, { ...sweepInput(plan, config), heartbeatTimeout: '10s' });
    await until(async () => {
      const progress = await env.client.workflow.getHandle(plan.sweepId).query<{ done: number }>('sweepProgress');
      return progress.done >= 1 ? true : undefined;
    }, 'a first finished child');

    await env.teardown();
    env = await startTemporal({ port, dbFilename });
    const connection = await Connection.connect({ address: config.address });
    cleanup.push(() => connection.close());
    const client = new Client({ connection });
    const result = (await client.workflow.getHandle(plan.sweepId).result()) as SweepResult;
    expect(result).toMatchObject({ total: 6, done: 6, failed: 0 });
  });
});
