import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepReport } from '../../lib/sweep/report.js';
import type { PruneDatasetResult } from '../../workflows/pruneDataset.js';
import { sls } from '../helpers/cli.js';
import { MODEL, temporaryDir, writePixelDataset } from '../helpers/fixtures.js';
import { sampleStandardDeviation } from '../helpers/statistics.js';
import { areaVertices } from '../helpers/svg.js';
import { writeDigitsSweep } from '../helpers/sweeps.js';
import { startTemporal } from '../helpers/temporal.js';

describe('sls sweep on a bad sweep file', () => {
  it('exits with 2 and names the file, the key and why, before reaching Temporal', async () => {
    const file = join(temporaryDir(), 'bad.yaml');
    writeFileSync(file, 'name: s\nmodels: {m: m.onnx}\ndatasets: [{name: d, data: d.arrow}]\noutput: out\nalphas: [0.3, 1.2]\n');
    const result = await sls(['sweep', file], { SLS_TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`sls: ${file}: alphas[1]: alpha must be in (0, 1]\n`);
  });
});

describe('sls sweep, status, retry and report against a real Temporal server', () => {
  let env: TestWorkflowEnvironment;
  let vars: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = await startTemporal();
    const suffix = Math.random().toString(36).slice(2, 8);
    vars = {
      SLS_TEMPORAL_ADDRESS: env.address,
      SLS_CPU_QUEUE: `cpu-${suffix}`,
      SLS_GPU_QUEUE: `gpu-${suffix}`,
      SLS_ARTIFACT_ROOT: temporaryDir('sls-artifacts-'),
    };
  });

  afterAll(async () => {
    await env?.teardown();
  });

  it('runs a sweep with its own workers, then gives its status and its report', async () => {
    const dir = temporaryDir();
    const file = await writeDigitsSweep(dir, 'cli', 2, 100, 'alphas: [0.3, 0.6]\nconcurrency: 2\nrepeats: 3\n');
    const sweep = await sls(['sweep', file], vars);
    expect(sweep.code).toBe(0);
    expect(sweep.stderr).toMatch(/sweep sweep-cli-[0-9a-f]{16}: started \(2 runs, at most 2 at a time\)/);
    expect(sweep.stdout).toMatch(/2\/2 done, 0 running, 0 failed, 0 pending/);
    const written = JSON.parse(readFileSync(join(dir, 'out', 'sweep.json'), 'utf8'));
    expect(written).toMatchObject({ total: 2, done: 2 });

    const status = await sls(['status', file, '--json'], vars);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout);
    expect(parsed).toMatchObject({ sweepId: written.sweepId, workflowStatus: 'COMPLETED', done: 2, failed: 0 });
    expect(parsed.children.map((child: { datasetName: string }) => child.datasetName)).toEqual(['d00', 'd01']);

    const list = await sls(['status'], vars);
    expect(list.stdout).toMatch(new RegExp(`^${written.sweepId}  COMPLETED  `, 'm'));

    expect((await sls(['retry', written.sweepId], vars)).stdout).toBe(`${written.sweepId}: nothing to retry\n`);

    const report = await sls(['report', file], vars);
    expect(report.code).toBe(0);
    for (const name of ['index.html', 'report.json', 'report.csv']) expect(existsSync(join(dir, 'out', 'report', name))).toBe(true);
    expect(
      readFileSync(join(dir, 'out', 'report', 'report.csv'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(1 + 2 * 2);

    // With three seeds per layer: each run's spread is that of its seeds' scores, drawn as a band
    // around the mean curve over each layer every seed scored (block i at x = (i - 0.5) * 360 / 6).
    const reported = JSON.parse(readFileSync(join(dir, 'out', 'report', 'report.json'), 'utf8')) as SweepReport;
    const html = readFileSync(join(dir, 'out', 'report', 'index.html'), 'utf8');
    const bands = areaVertices(html);
    expect(bands).toHaveLength(2);
    expect(html).toContain('SC per block (mean over the seeds, the band +-1 spread)');
    for (const [index, run] of reported.runs.entries()) {
      const child = (await env.client.workflow.getHandle(parsed.children[index].childId).result()) as PruneDatasetResult;
      const seedScores = child.repeats?.scores ?? [];
      expect(seedScores).toHaveLength(6);
      const banded = seedScores.flatMap((row, layer) => (row.every((score) => score !== null) ? [layer + 1] : []));
      expect(run.repeats?.spread).toEqual(
        seedScores.map((row) => (row.every((score) => score !== null) ? expect.closeTo(sampleStandardDeviation(row), 12) : null)),
      );
      const xs = banded.map((layer) => (layer - 0.5) * 60);
      expect(bands[index].map(([x]) => x)).toEqual([...xs, ...[...xs].reverse()]);
    }
  });

  it("shows a failed run's innermost cause with its stage, and exits 2 when the failure is bad input", async () => {
    const dir = temporaryDir();
    const data = join(dir, 'one.arrow');
    writePixelDataset(data, new Float32Array(4 * 768), 768, new Int32Array(4));
    const file = join(dir, 'bad-data.yaml');
    writeFileSync(file, `name: bad-data\nmodels: {vit: ${MODEL}}\ndatasets: [{name: one, data: one.arrow}]\noutput: out\n`);
    const row = `one      vit    0     failed  -       extract: ${data}: the dataset has one class (label 0); the silhouette score needs at least two`;
    const sweep = await sls(['sweep', file], vars);
    expect(sweep.stdout).toContain(`${row}\n`);
    expect(sweep.code).toBe(2);
    const status = await sls(['status', file], vars);
    expect(status.stdout).toContain(`${row}\n`);
    expect(status.code).toBe(2);
  });
});
