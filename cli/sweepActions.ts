/** What the sweep commands of `sls` do (cli/sweep.ts registers them): sweep, status, cancel, retry, report. */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type Connection } from '@temporalio/client';
import cliProgress from 'cli-progress';
import { writeFileAtomic } from '../lib/store/atomicWrite.js';
import { loadSweep } from '../lib/sweep/config.js';
import { writeReport } from '../lib/sweep/report.js';
import { type TemporalConfig, temporalConfig } from '../workers/config.js';
import type { SweepResult } from '../workflows/sweep.js';
import { exitCodeFor } from './format.js';
import { connectOrStartLocal, runWithWorkers } from './pipeline.js';
import { collectReport } from './reportCommand.js';
import { cancelSweep, launchSweep, resolveSweepId, retrySweep, type SweepStatus, sweepInput, sweepStatus } from './sweepControl.js';
import { failedCauses, formatSweepStatus } from './sweepFormat.js';

const POLL_MS = 1000;

async function withClient<T>(use: (client: Client, connection: Connection, config: TemporalConfig) => Promise<T>): Promise<T> {
  const config = temporalConfig();
  const connection = await connectOrStartLocal(config);
  try {
    return await use(new Client({ connection, namespace: config.namespace }), connection, config);
  } finally {
    await connection.close();
  }
}

/**
 * Live progress until `finished` settles: cli-progress bars on a terminal (the sweep, then one per
 * running child with its stage), a line per change otherwise.
 */
async function follow(client: Client, sweepId: string, finished: Promise<unknown>): Promise<void> {
  let settled = false;
  void finished.finally(() => {
    settled = true;
  });
  const terminal = process.stderr.isTTY;
  const bars = new cliProgress.MultiBar(
    { stream: process.stderr, format: '{label} |{bar}| {value}/{total} {detail}', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  const sweepBar = terminal ? bars.create(1, 0, { label: 'sweep', detail: '' }) : null;
  const childBars = new Map<string, cliProgress.SingleBar>();
  let lastLine = '';
  while (!settled) {
    const status: SweepStatus | null = await sweepStatus(client, sweepId).catch(() => null);
    if (status && sweepBar) {
      sweepBar.setTotal(status.total);
      sweepBar.update(status.done + status.failed, { detail: `finished (${status.running} running, ${status.failed} failed)` });
      for (const child of status.children) {
        const stage = status.stages[child.childId];
        const bar = childBars.get(child.childId);
        if (stage) {
          const payload = { label: `${child.datasetName}/${child.modelName}/s${child.seed}`, detail: `layers scored (${stage.stage})` };
          const total = Math.max(stage.layers, 1);
          const childBar = bar ?? bars.create(total, 0, payload);
          childBars.set(child.childId, childBar);
          childBar.setTotal(total);
          childBar.update(stage.scored, payload);
        } else if (bar) {
          bars.remove(bar);
          childBars.delete(child.childId);
        }
      }
    } else if (status) {
      const line = `${status.done}/${status.total} done, ${status.running} running, ${status.failed} failed`;
      if (line !== lastLine) process.stderr.write(`${line}\n`);
      lastLine = line;
    }
    await Promise.race([sleep(POLL_MS), finished.catch(() => undefined)]);
  }
  bars.stop();
}

export async function runSweep(file: string, options: { detach?: boolean }): Promise<void> {
  const plan = await loadSweep(file);
  await withClient(async (client, connection, config) => {
    const input = sweepInput(plan, config);
    const started = performance.now();
    const execute = async () => {
      const { handle, state } = await launchSweep(client, input);
      process.stderr.write(`sweep ${plan.sweepId}: ${state} (${plan.children.length} runs, at most ${plan.concurrency} at a time)\n`);
      if (options.detach) return null;
      const result = handle.result();
      await follow(client, plan.sweepId, result);
      return result;
    };
    const { value: result } = options.detach ? { value: await execute() } : await runWithWorkers(connection, config, execute);
    if (!result) {
      process.stdout.write(`follow it with: sls status ${plan.sweepId}\n`);
      return;
    }
    const outFile = join(plan.outputRoot, 'sweep.json');
    await writeFileAtomic(outFile, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(formatSweepStatus({ ...(result as SweepResult), workflowStatus: 'COMPLETED', stages: {} }));
    process.stdout.write(`\nresult: ${outFile}\nwall time: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    process.exitCode = exitCodeFor(failedCauses(result as SweepResult));
  });
}

async function listSweeps(client: Client): Promise<Array<{ sweepId: string; status: string; started: string }>> {
  const sweeps = [];
  for await (const run of client.workflow.list({ query: 'WorkflowType = "SweepWorkflow"' })) {
    sweeps.push({ sweepId: run.workflowId, status: run.status.name, started: run.startTime.toISOString() });
  }
  return sweeps;
}

export function showStatus(sweep: string | undefined, options: { json?: boolean; watch?: boolean }): Promise<void> {
  return withClient(async (client) => {
    if (!sweep) {
      const sweeps = await listSweeps(client);
      const text = options.json
        ? JSON.stringify(sweeps)
        : sweeps.map((s) => `${s.sweepId}  ${s.status}  ${s.started}`).join('\n') || 'no sweeps';
      process.stdout.write(`${text}\n`);
      return;
    }
    const sweepId = await resolveSweepId(sweep);
    if (options.watch) await follow(client, sweepId, client.workflow.getHandle(sweepId).result());
    const status = await sweepStatus(client, sweepId);
    process.stdout.write(options.json ? `${JSON.stringify(status)}\n` : formatSweepStatus(status));
    process.exitCode = exitCodeFor(failedCauses(status));
  });
}

export function cancel(sweep: string): Promise<void> {
  return withClient(async (client) => {
    const sweepId = await resolveSweepId(sweep);
    await cancelSweep(client, sweepId);
    process.stdout.write(`cancellation requested: ${sweepId}\n`);
  });
}

export function retry(sweep: string): Promise<void> {
  return withClient(async (client) => {
    const sweepId = await resolveSweepId(sweep);
    const outcome = await retrySweep(client, sweepId);
    process.stdout.write(`${sweepId}: ${outcome.action}${'failed' in outcome ? ` (${outcome.failed} failed children)` : ''}\n`);
  });
}

export function report(sweep: string, options: { out?: string }): Promise<void> {
  return withClient(async (client) => {
    const sweepId = await resolveSweepId(sweep);
    const out = options.out ?? (sweepId === sweep ? `report-${sweepId}` : (await loadSweep(sweep)).reportDir);
    const paths = await writeReport(await collectReport(client, sweepId), out);
    process.stdout.write(`${paths.html}\n${paths.json}\n${paths.csv}\n`);
  });
}
