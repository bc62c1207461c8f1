import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import type { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Field, FixedSizeList, Float32, Int32, makeData, makeVector, Table, tableToIPC, vectorFromArray } from 'apache-arrow';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectReport } from '../../cli/reportCommand.js';
import { cancelSweep, launchSweep, retrySweep, sweepInput, sweepStatus } from '../../cli/sweepControl.js';
import { decideCuts } from '../../lib/decide/cutRule.js';
import { readArrowTable, readFloatRows, readLabels } from '../../lib/io/arrowTensors.js';
import { loadSweep } from '../../lib/sweep/config.js';
import { chosenLayers, writeReport } from '../../lib/sweep/report.js';
import type { TemporalConfig } from '../../workers/config.js';
import type { PruneDatasetResult } from '../../workflows/pruneDataset.js';
import { SWEEP } from '../../workflows/searchAttributes.js';
import type { SweepResult } from '../../workflows/sweep.js';
import { chromiumExecutable } from '../helpers/browser.js';
import { MODEL, NO_BLOCKS_MODEL, TRAIN, temporaryDir, writePixelDataset } from '../helpers/fixtures.js';
import { writeDigitsSubset, writeDigitsSweep } from '../helpers/sweeps.js';
import { digitsPruneInput, startTestbed, type Testbed } from '../helpers/temporal.js';

let testbed: Testbed;
let env: TestWorkflowEnvironment;
let config: TemporalConfig;

beforeAll(async () => {
  testbed = await startTestbed();
  ({ env, config } = testbed);
});

afterAll(() => testbed?.stop());

/** Every run of a workflow ID, newest first, with its status and history length. */
async function runsOf(workflowId: string) {
  const runs = [];
  for await (const run of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(run);
  return runs;
}

describe('SweepWorkflow on a real Temporal server', () => {
  // Seconds on an idle 2-core host; the long limit is for a host shared with other work.
  it('prunes 8 small datasets, at most 3 at a time, in short histories', { timeout: 300_000 }, async () => {
    const file = await writeDigitsSweep(temporaryDir(), 'eight', 8, 100, 'concurrency: 3\n');
    const plan = await loadSweep(file);
    const input = sweepInput(plan, config, 3);
    const started = performance.now();
    const { handle, state } = await launchSweep(env.client, input);
    expect(state).toBe('started');

    // Launching the same sweep again attaches to the running one.
    const again = await launchSweep(env.client, input);
    expect(again.state).toBe('attached');
    expect((await again.handle.describe()).runId).toBe((await handle.describe()).runId);

    let mostRunning = 0;
    let sawStage = false;
    const outcome = handle.result();
    let finished = false;
    void outcome.finally(() => {
      finished = true;
    });
    while (!finished) {
      const status = await sweepStatus(env.client, plan.sweepId).catch(() => null);
      if (status?.workflowStatus === 'RUNNING') {
        mostRunning = Math.max(mostRunning, status.running);
        sawStage ||= Object.values(status.stages).some((stage) => ['extract', 'embed', 'decide', 'emit', 'done'].includes(stage.stage));
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const result: SweepResult = await outcome;
    const seconds = (performance.now() - started) / 1000;
    console.log(`sweep of 8 datasets x 100 rows, P = 3: ${seconds.toFixed(1)} s`);

    expect(result).toMatchObject({ total: 8, done: 8, failed: 0, running: 0, pending: 0 });
    expect(mostRunning).toBeGreaterThan(1);
    expect(mostRunning).toBeLessThanOrEqual(3);
    expect(sawStage).toBe(true);

    // Each child decided every alpha from its own full curve, with the cut rule.
    for (const child of result.children) {
      const childResult = (await env.client.workflow.getHandle(child.childId).result()) as PruneDatasetResult;
      expect(childResult.scores.every((score) => score !== null)).toBe(true);
      expect(childResult.decisions).toEqual(decideCuts(childResult.scores as number[], [0.3]));
      expect(child.keptBlocks).toEqual(childResult.decisions.map((decision) => decision.keptBlocks));
      const description = await env.client.workflow.getHandle(child.childId).describe();
      expect(description.typedSearchAttributes.get(SWEEP)).toBe(plan.sweepId);
      expect(await description.staticSummary()).toBe(`${child.datasetName} · vit · seed 0 (sweep eight)`);
    }

    // 8 children, 3 per run: three runs, each history far under the 10,240-event warning.
    const runs = await runsOf(plan.sweepId);
    expect(runs.map((run) => run.status.name).sort()).toEqual(['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);
    for (const run of runs) {
      expect(run.historyLength).toBeLessThan(200);
      expect(run.historySize ?? 0).toBeLessThan(256 * 1024);
    }

    // Relaunching a finished sweep starts nothing.
    const relaunch = await launchSweep(env.client, input);
    expect(relaunch.state).toBe('finished');
    expect(await runsOf(plan.sweepId)).toHaveLength(3);
  });

  it('reports a failed child with its file, and retry re-runs only that child', async () => {
    const dir = temporaryDir();
    const file = await writeDigitsSweep(dir, 'retry', 2, 100, 'concurrency: 3\n');
    const bad = join(dir, 'bad.arrow');
    writePixelDataset(bad, new Float32Array(100 * 768), 768, new Int32Array(100));
    writeFileSync(file, readFileSync(file, 'utf8').replace('\noutput:', '\n  - {name: bad, data: bad.arrow}\noutput:'));
    const plan = await loadSweep(file);
    const { handle } = await launchSweep(env.client, sweepInput(plan, config));
    const first = await handle.result();
    expect(first).toMatchObject({ total: 3, done: 2, failed: 1 });
    const failed = first.children.find((child) => child.status === 'failed');
    expect(failed?.datasetName).toBe('bad');
    expect(failed?.error).toMatch(/bad\.arrow: the dataset has one class/);

    // The user fixes the file; retry starts the finished sweep again with the failed child only.
    await writeDigitsSubset(bad, 100, 7);
    expect(await retrySweep(env.client, plan.sweepId)).toEqual({ action: 'restarted', failed: 1 });
    const second = (await env.client.workflow.getHandle(plan.sweepId).result()) as SweepResult;
    expect(second).toMatchObject({ total: 3, done: 3, failed: 0 });
    for (const child of second.children) {
      expect(await runsOf(child.childId)).toHaveLength(child.datasetName === 'bad' ? 2 : 1);
    }
    expect(await retrySweep(env.client, plan.sweepId)).toEqual({ action: 'nothing to retry' });
  });

  it('puts the failed children of a running sweep back in its queue on the retry signal', async () => {
    const dir = temporaryDir();
    const bad = join(dir, 'bad.arrow');
    writePixelDataset(bad, new Float32Array(100 * 768), 768, new Int32Array(100));
    const file = await writeDigitsSweep(dir, 'signal', 2, 100, 'concurrency: 1\n');
    // The bad dataset first, so that it fails while the others still run one at a time.
    writeFileSync(file, readFileSync(file, 'utf8').replace('datasets:\n', 'datasets:\n  - {name: bad, data: bad.arrow}\n'));
    const plan = await loadSweep(file);
    const { handle } = await launchSweep(env.client, sweepInput(plan, config));
    let status = await sweepStatus(env.client, plan.sweepId);
    while (status.failed === 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await sweepStatus(env.client, plan.sweepId);
    }
    expect(status.workflowStatus).toBe('RUNNING');
    await writeDigitsSubset(bad, 100, 8);
    expect(await retrySweep(env.client, plan.sweepId)).toEqual({ action: 'signalled' });
    expect(await handle.result()).toMatchObject({ total: 3, done: 3, failed: 0 });
    // One run of the sweep: the failed child ran again inside it.
    expect(await runsOf(plan.sweepId)).toHaveLength(1);
    expect(await runsOf(plan.children[0].childId)).toHaveLength(2);
  });

  it('rebuilds a damaged artifact instead of using it, and records what made each one', async () => {
    const dir = temporaryDir();
    const data = join(dir, 'one.arrow');
    await writeDigitsSubset(data, 100, 1234);
    const args = digitsPruneInput(config, { data, datasetName: 'one', fullCurve: true });
    const prune = async () =>
      (await env.client.workflow.execute('PruneDatasetWorkflow', {
        args: [args],
        taskQueue: config.taskQueues.cpu,
        workflowId: `lineage-${randomUUID()}`,
      })) as PruneDatasetResult;
    const first = await prune();
    const layer3 = join(first.features.featuresDir, 'layer-03.arrow');
    const embedding5 = first.embeddings[4].embeddingFile;

    // The sidecars name the inputs by their sha256, computed here independently.
    const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
    const featuresLineage = JSON.parse(readFileSync(`${first.features.featuresDir}.lineage.json`, 'utf8'));
    expect(featuresLineage).toMatchObject({
      step: 'extract',
      inputs: { model: { path: MODEL, sha256: sha256(MODEL) }, data: { path: data, sha256: sha256(data) } },
    });
    expect(featuresLineage.files).toContainEqual({ path: 'layer-03.arrow', size: statSync(layer3).size, sha256: sha256(layer3) });
    const embeddingLineage = JSON.parse(readFileSync(`${embedding5}.lineage.json`, 'utf8'));
    expect(embeddingLineage).toMatchObject({
      step: 'embed',
      seed: 0,
      parameters: { layer: 5 },
      inputs: { features: { sha256: sha256(join(first.features.featuresDir, 'layer-05.arrow')) } },
    });

    // A crash left a truncated feature file and an embedding with one byte changed.
    truncateSync(layer3, statSync(layer3).size - 100);
    const bytes = readFileSync(embedding5);
    bytes[bytes.length - 20] ^= 0xff;
    writeFileSync(embedding5, bytes);

    const second = await prune();
    expect(second.reused.extract).toBe(false);
    // The rebuilt features are identical, so only the damaged embedding is computed again.
    expect(second.reused.embed).toBe(5);
    expect(second.scores).toEqual(first.scores);
    expect(sha256(layer3)).toBe(featuresLineage.files.find((file: { path: string }) => file.path === 'layer-03.arrow').sha256);
  });

  it('writes a report that headless chromium renders, with a curve and scatters per dataset', async () => {
    const file = await writeDigitsSweep(temporaryDir(), 'report', 2, 100, 'alphas: [0.3, 0.6]\n');
    const plan = await loadSweep(file);
    await (await launchSweep(env.client, sweepInput(plan, config))).handle.result();
    const report = await collectReport(env.client, plan.sweepId);
    expect(report.runs.map((run) => [run.datasetName, run.status, run.decisions.length])).toEqual([
      ['d00', 'done', 2],
      ['d01', 'done', 2],
    ]);
    const paths = await writeReport(report, plan.reportDir);
    const scatters = report.runs.reduce((sum, run) => sum + run.scatters.length, 0);
    for (const run of report.runs) expect(run.scatters.map((s) => s.layer)).toEqual(chosenLayers(6, run.decisions[0]));

    const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(pathToFileURL(paths.html).href);
      expect(await page.title()).toBe('sweep report');
      expect(await page.locator('table.summary tbody tr').count()).toBe(2);
      expect(await page.locator('figure.curve svg').count()).toBe(2);
      expect(await page.locator('figure.scatter svg').count()).toBe(scatters);
      // The plots have drawn marks with a size on the page, not empty boxes.
      expect(await page.locator('figure.scatter svg .mark-symbol.role-mark path').count()).toBe(scatters * 100);
      const box = await page.locator('figure.curve svg').first().boundingBox();
      expect(box?.width).toBeGreaterThan(300);
      const screenshot = join(plan.outputRoot, 'report.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      expect(statSync(screenshot).size).toBeGreaterThan(10_000);
      console.log(`report screenshot: ${screenshot}`);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('cancels a running sweep and its children', async () => {
    const file = await writeDigitsSweep(temporaryDir(), 'cancel', 3, 400, 'concurrency: 1\n');
    const plan = await loadSweep(file);
    const { handle } = await launchSweep(env.client, sweepInput(plan, config));
    let status = await sweepStatus(env.client, plan.sweepId);
    while (status.running === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await sweepStatus(env.client, plan.sweepId);
    }
    const runningChild = status.children.find((child) => child.status === 'running');
    await cancelSweep(env.client, plan.sweepId);
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const childStatus = (await env.client.workflow.getHandle(runningChild?.childId ?? '').describe()).status.name;
    expect(childStatus).toBe('CANCELLED');
    await expect(retrySweep(env.client, plan.sweepId)).rejects.toThrow(/the sweep is cancelled; launch it again with "sls sweep FILE"/);
  });
});

describe('SweepWorkflow on bad input', () => {
  /** Bad inputs of issue 5 that only a run can find; the sweep file's own are in test/lib/sweep/config.test.ts. */
  async function writeBadDatasets(dir: string) {
    const good = join(dir, 'good.arrow');
    await writeDigitsSubset(good, 100, 3);
    const table = await readArrowTable(good);
    const { values, dim } = readFloatRows(table, 'pixels', good);
    const labels = readLabels(table, good);
    writeFileSync(join(dir, 'not-onnx.onnx'), 'this is not a protobuf');
    writePixelDataset(join(dir, 'one-class.arrow'), values, dim, new Int32Array(100));
    writePixelDataset(join(dir, 'few.arrow'), values.slice(0, 20 * dim), dim, labels.slice(0, 20));
    const nan = values.slice();
    nan[5 * dim + 7] = Number.NaN;
    writePixelDataset(join(dir, 'nan.arrow'), nan, dim, labels);
    const negative = labels.slice();
    negative[3] = -3;
    writePixelDataset(join(dir, 'negative.arrow'), values, dim, negative);
    // 100 rows of pixels, 90 labels: the other 10 are null.
    const child = makeData({ type: new Float32(), length: values.length, data: values });
    const pixelColumn = makeVector(makeData({ type: new FixedSizeList(dim, new Field('item', new Float32())), length: 100, child }));
    const labelColumn = vectorFromArray(
      Array.from(labels, (label, i) => (i < 90 ? label : null)),
      new Int32(),
    );
    writeFileSync(join(dir, 'unlabelled.arrow'), tableToIPC(new Table({ pixels: pixelColumn, label: labelColumn }), 'file'));
  }

  it('fails each bad child at once, without retries, with an error that names the file and the problem', async () => {
    const dir = temporaryDir();
    await writeBadDatasets(dir);
    const datasets = [
      '{name: not-onnx, data: good.arrow, model: not-onnx.onnx}',
      `{name: no-blocks, data: good.arrow, model: ${NO_BLOCKS_MODEL}}`,
      '{name: one-class, data: one-class.arrow}',
      '{name: few, data: few.arrow}',
      '{name: nan, data: nan.arrow}',
      '{name: negative, data: negative.arrow}',
      '{name: unlabelled, data: unlabelled.arrow}',
    ];
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `name: bad\nmodels: {vit: ${MODEL}}\ndatasets:\n${datasets.map((d) => `  - ${d}`).join('\n')}\noutput: out\n`);
    const plan = await loadSweep(file);
    const result = await (await launchSweep(env.client, sweepInput(plan, config))).handle.result();
    expect(result).toMatchObject({ total: 7, done: 0, failed: 7 });
    const errors = Object.fromEntries(result.children.map((child) => [child.datasetName, child.error]));
    expect(errors['not-onnx']).toMatch(/not-onnx\.onnx: not a readable ONNX model/);
    expect(errors['no-blocks']).toMatch(/mlp\.onnx: no transformer blocks found/);
    expect(errors['one-class']).toMatch(/one-class\.arrow: the dataset has one class/);
    // Found in the features extracted from few.arrow: the lineage names that dataset.
    expect(errors.few).toMatch(
      /few\.arrow: has 20 samples; t-SNE at perplexity 30 needs at least 91 \(3 \* perplexity \+ 1\) \(found in .*layer-0\d\.arrow; extract made it from this data with model .*model\.onnx\)/,
    );
    // Caught where the data is read, before an extraction pass is spent on it.
    expect(errors.nan).toMatch(/nan\.arrow: row 5: column "pixels" has a non-finite value \(NaN\) at value 7/);
    expect(errors.negative).toMatch(/negative\.arrow: row 3: label -3 is not a class index/);
    expect(errors.unlabelled).toMatch(/unlabelled\.arrow: has 100 rows but only 90 labels \(10 null\)/);
    for (const child of result.children) {
      const failure = await env.client.workflow
        .getHandle(child.childId)
        .result()
        .catch((error: unknown) => error);
      const cause = ((failure as WorkflowFailedError).cause as ActivityFailure).cause as ApplicationFailure;
      expect(cause.nonRetryable).toBe(true);
    }
  });

  it("hands the sweep's t-SNE gradient to every run", async () => {
    const dir = temporaryDir();
    const file = join(dir, 'gradient.yaml');
    writeFileSync(file, `name: gradient\nmodels: {vit: ${MODEL}}\ndatasets:\n  - {name: digits, data: ${TRAIN}}\noutput: out\n`);
    // A gradient the file's schema would refuse: the run, not the plan, must be the one to fail.
    const plan = { ...(await loadSweep(file)), tsneGradient: 'bh' as 'barnes_hut' };
    const result = await (await launchSweep(env.client, sweepInput(plan, config))).handle.result();
    expect(result).toMatchObject({ total: 1, done: 0, failed: 1 });
    expect(result.children[0].error).toMatch(/the t-SNE gradient must be one of auto, exact, barnes_hut, fft, got "bh"/);
  });

  it('fails a run with an alpha outside (0, 1] at once', async () => {
    const args = digitsPruneInput(config, { datasetName: 'alpha', alphas: [1.5] });
    const failure = await env.client.workflow
      .execute('PruneDatasetWorkflow', { args: [args], taskQueue: config.taskQueues.cpu, workflowId: `alpha-${randomUUID()}` })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toBe('alpha must be in (0, 1], got 1.5');
  });
});
