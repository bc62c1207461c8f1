import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { launchSweep, sweepInput } from '../cli/sweepControl.js';
import { loadSweep, type SweepPlan } from '../lib/sweep/config.js';
import { temporaryDir } from '../test/helpers/fixtures.js';
import { freePort, killProcess, startWorkerProcess } from '../test/helpers/processes.js';
import { writeDigitsSweep } from '../test/helpers/sweeps.js';
import { startTemporal, testConfig } from '../test/helpers/temporal.js';
import type { PruneDatasetResult } from '../workflows/pruneDataset.js';
import type { SweepResult } from '../workflows/sweep.js';

const { values: flags } = parseArgs({ options: { kills: { type: 'string', default: '8' }, seed: { type: 'string', default: '1' } } });
const KILLS = Number(flags.kills);
/** Short, so that a killed worker's activity is retried elsewhere within seconds. */
const HEARTBEAT = '5 seconds';

/** A seeded generator (mulberry32): the same kills for the same seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ChildRecord {
  scores: Array<number | null>;
  keptBlocks: number[];
  checkpoints: string[];
}

/** Per child (by dataset): the curve, the cuts, and the sha256 of each checkpoint's bytes. */
async function records(client: Client, result: SweepResult): Promise<Record<string, ChildRecord>> {
  const out: Record<string, ChildRecord> = {};
  for (const child of result.children) {
    const run = (await client.workflow.getHandle(child.childId).result()) as PruneDatasetResult;
    out[child.datasetName] = {
      scores: run.scores,
      keptBlocks: run.decisions.map((decision) => decision.keptBlocks),
      checkpoints: run.checkpoints.map((c) => createHash('sha256').update(readFileSync(c.checkpoint)).digest('hex')),
    };
  }
  return out;
}

async function cleanRun(plan: SweepPlan): Promise<Record<string, ChildRecord>> {
  const env = await startTemporal();
  const config = testConfig(env.address);
  const worker = startWorkerProcess('all', config);
  try {
    const { handle } = await launchSweep(env.client, { ...sweepInput(plan, config), heartbeatTimeout: HEARTBEAT });
    return await records(env.client, (await handle.result()) as SweepResult);
  } finally {
    await killProcess(worker);
    await env.teardown();
  }
}

async function chaosRun(plan: SweepPlan): Promise<{ records: Record<string, ChildRecord>; kills: number; seconds: number }> {
  const draw = random(Number(flags.seed));
  const port = await freePort();
  const dbFilename = join(temporaryDir('sls-chaos-'), 'temporal.db');
  let env: TestWorkflowEnvironment = await startTemporal({ port, dbFilename });
  const config = testConfig(`127.0.0.1:${port}`);
  const roles = ['cpu', 'cpu', 'gpu'] as const;
  const workers = roles.map((role) => startWorkerProcess(role, config));
  const started = performance.now();
  let kills = 0;
  let restarted = false;
  try {
    const { handle } = await launchSweep(env.client, { ...sweepInput(plan, config), heartbeatTimeout: HEARTBEAT });
    const sweepId = handle.workflowId;
    // Null while the server is away: then the sweep counts as still running.
    const running = async () => {
      const description = await env.client.workflow
        .getHandle(sweepId)
        .describe()
        .catch(() => null);
      return description === null || description.status.name === 'RUNNING';
    };
    while (await running()) {
      await sleep(4000 + draw() * 8000);
      if (kills < KILLS) {
        const victim = Math.floor(draw() * workers.length);
        await killProcess(workers[victim]);
        kills++;
        console.log(`kill ${kills}: ${roles[victim]} worker ${victim} at ${((performance.now() - started) / 1000).toFixed(0)} s`);
        await sleep(1000 + draw() * 3000);
        workers[victim] = startWorkerProcess(roles[victim], config);
      }
      if (!restarted && kills >= KILLS / 2) {
        restarted = true;
        console.log(`dev server stopped and started again at ${((performance.now() - started) / 1000).toFixed(0)} s`);
        await env.teardown();
        env = await startTemporal({ port, dbFilename });
      }
    }
    const result = (await env.client.workflow.getHandle(sweepId).result()) as SweepResult;
    return { records: await records(env.client, result), kills, seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const worker of workers) await killProcess(worker);
    await env.teardown();
  }
}

const file = await writeDigitsSweep(temporaryDir(), 'chaos', 6, 300, 'concurrency: 3\nalphas: [0.3, 0.6]\n');
const plan = await loadSweep(file);
const clean = await cleanRun(plan);
console.log('clean run done');
const chaos = await chaosRun(plan);
let differences = 0;
for (const [dataset, expected] of Object.entries(clean)) {
  const same = JSON.stringify(chaos.records[dataset]) === JSON.stringify(expected);
  if (!same) differences++;
  console.log(
    `${dataset}: ${same ? 'same curve, cuts and checkpoints' : `DIFFERENT: ${JSON.stringify(chaos.records[dataset])} vs ${JSON.stringify(expected)}`}`,
  );
}
console.log(
  `${chaos.kills} kills and one server restart survived in ${chaos.seconds.toFixed(0)} s; ${differences} of ${Object.keys(clean).length} children differ`,
);
process.exit(differences === 0 ? 0 : 1);
