import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEmbedding, readFeatures, writeEmbedding } from '../../lib/io/arrowTensors.js';
import { sls } from '../helpers/cli.js';
import { FIXTURES, MODEL, maxAbsDiff, TEST_SPLIT, TRAIN, temporaryDir, VTAB_LIST, writePixelDataset } from '../helpers/fixtures.js';
import { startTemporal } from '../helpers/temporal.js';

describe('sls extract / embed / score / decide', () => {
  const out = temporaryDir();

  it('extract writes layer-01.arrow .. layer-06.arrow', async () => {
    const result = await sls(['extract', '--model', MODEL, '--data', TRAIN, '--out', out, '--batch', '64']);
    expect(result.code).toBe(0);
    expect(readdirSync(out).filter((file) => file.endsWith('.arrow'))).toEqual(
      ['01', '02', '03', '04', '05', '06'].map((layer) => `layer-${layer}.arrow`),
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ layers: 6, rows: 1000, dim: 64 });
  });

  it('extract reads a VTAB-1k file list: the features of the same images as the pixels file', async () => {
    const listOut = temporaryDir();
    const mean = ['--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5'];
    const result = await sls(['extract', '--model', MODEL, '--data', VTAB_LIST, '--out', listOut, ...mean]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ layers: 6, rows: 64, dim: 64 });
    // The list names the first 64 train images (make_parquet_fixtures.py), in their order.
    const [fromList, fromPixels] = await Promise.all([
      readFeatures(join(listOut, 'layer-06.arrow')),
      readFeatures(join(out, 'layer-06.arrow')),
    ]);
    expect(fromList.labels).toEqual(fromPixels.labels.subarray(0, 64));
    expect(maxAbsDiff(fromList.values, fromPixels.values.subarray(0, 64 * 64))).toBeLessThan(1e-4);
  });

  it('embed writes x, y and the labels in the input row order', async () => {
    const embedding = join(out, 'embedding.arrow');
    const result = await sls(['embed', join(out, 'layer-06.arrow'), '--out', embedding, '--seed', '3']);
    expect(result.code).toBe(0);
    const features = await readFeatures(join(out, 'layer-06.arrow'));
    const { x, y, labels } = await readEmbedding(embedding);
    expect(labels).toEqual(features.labels);
    expect(x).toHaveLength(1000);
    expect(y).toHaveLength(1000);
  });

  it("score prints one JSON line with scikit-learn's silhouette of the min-max scaled embedding", async () => {
    const { sls: expected, x, y, labels } = JSON.parse(readFileSync(join(FIXTURES, 'sklearn/silhouette.json'), 'utf8')).sls;
    const embedding = join(temporaryDir(), 'sk.arrow');
    await writeEmbedding(embedding, { x: Float64Array.from(x), y: Float64Array.from(y), labels: Int32Array.from(labels) });
    const result = await sls(['score', embedding]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(Math.abs(JSON.parse(result.stdout).sc - expected)).toBeLessThan(1e-9);
  });

  it('decide prints the blocks kept and the threshold for each alpha', async () => {
    const scores = join(temporaryDir(), 'scores.json');
    writeFileSync(scores, JSON.stringify([0.02, 0.03, 0.05, 0.06, 0.08, 0.09, 0.1, 0.11, 0.115, 0.2, 0.3, 0.4]));
    const result = await sls(['decide', '--scores', scores, '--alpha', '0.3,0.9']);
    expect(result.code).toBe(0);
    const decided = JSON.parse(result.stdout);
    expect(decided.blocks).toBe(12);
    expect(decided.cuts.map((cut: { alpha: number; keptBlocks: number }) => [cut.alpha, cut.keptBlocks])).toEqual([
      [0.3, 10],
      [0.9, 12],
    ]);
    expect(decided.cuts[0].threshold).toBeCloseTo(0.12, 12);
  });

  it('names the file and exits non-zero on bad input', async () => {
    const missing = await sls(['score', '/nonexistent/embedding.arrow']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent\/embedding\.arrow: file not found/);
    const notScores = join(temporaryDir(), 'scores.json');
    writeFileSync(notScores, '{"sc": 1}');
    const badScores = await sls(['decide', '--scores', notScores, '--alpha', '0.3']);
    expect(badScores.code).toBe(2);
    expect(badScores.stderr).toMatch(/scores\.json: must hold a non-empty JSON array/);
    const badAlpha = await sls(['decide', '--scores', notScores, '--alpha', '1.5']);
    expect(badAlpha.code).not.toBe(0);
    expect(badAlpha.stderr).toMatch(/alpha must be in \(0, 1\], got 1\.5/);
  });
});

describe('sls run', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await startTemporal();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs the workflow through Temporal with its own worker and writes result.json', async () => {
    const out = temporaryDir();
    const environment = {
      SLS_TEMPORAL_ADDRESS: env.address,
      SLS_ARTIFACT_ROOT: join(out, 'artifacts'),
      SLS_CPU_QUEUE: 'cli-cpu',
      SLS_GPU_QUEUE: 'cli-gpu',
    };
    const result = await sls(
      ['run', '--model', MODEL, '--data', TRAIN, '--eval-data', TEST_SPLIT, '--alpha', '0.3', '--seed', '0', '--out', out],
      environment,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(report.scores).toHaveLength(6);
    expect(report.keptBlocks).toBeGreaterThanOrEqual(1);
    expect(report.threshold).toBeCloseTo(0.3 * report.scores[5], 12);
    expect(report.checkpoint).toMatch(/checkpoints\/[0-9a-f]{24}\.onnx$/);
    expect(result.stdout).toContain(`keep ${report.keptBlocks} of 6 blocks`);
    const { accuracy } = report.checkpoints[0];
    expect(accuracy.rows).toBe(797);
    expect(result.stdout).toContain(`(c) pruned, refit head         ${(100 * accuracy.prunedRefitHead).toFixed(1)}%`);

    // Right after: the server still lists the exited workers as pollers; the run must not wait on them.
    const again = await sls(['run', '--model', MODEL, '--data', TRAIN, '--alpha', '0.3', '--seed', '1', '--out', out], environment);
    expect(again.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).reused.extract).toBe(true);
  });

  describe('on bad input', () => {
    const runOn = (data: string) => {
      const out = temporaryDir();
      const environment = {
        SLS_TEMPORAL_ADDRESS: env.address,
        SLS_ARTIFACT_ROOT: join(out, 'artifacts'),
        SLS_CPU_QUEUE: 'cli-bad-cpu',
        SLS_GPU_QUEUE: 'cli-bad-gpu',
      };
      return sls(['run', '--model', MODEL, '--data', data, '--out', out], environment);
    };

    it('prints the innermost cause with its stage and file, and exits 2', async () => {
      const data = join(temporaryDir(), 'one-class.arrow');
      writePixelDataset(data, new Float32Array(4 * 768), 768, new Int32Array(4));
      const result = await runOn(data);
      expect(result.stderr).toBe(
        `sls: ${data}: the dataset has one class (label 0); the silhouette score needs at least two\n  stage: extract\n  file: ${data}\n`,
      );
      expect(result.code).toBe(2);
    });

    it('names the dataset, not the artifact, when a NaN pixel is found downstream', async () => {
      const dim = 768;
      const rows = 40;
      const pixels = new Float32Array(rows * dim).map((_, i) => Math.sin(i));
      pixels[7 * dim + 3] = Number.NaN;
      const data = join(temporaryDir(), 'nan.arrow');
      writePixelDataset(
        data,
        pixels,
        dim,
        Int32Array.from({ length: rows }, (_, row) => row % 2),
      );
      const result = await runOn(data);
      // Where the data is read or where t-SNE reads the features: either way the user's file is named.
      expect(result.stderr).toMatch(new RegExp(`^sls: ${data}: .*NaN.*\n  stage: (extract|embed)\n  file: ${data}\n$`));
      expect(result.code).toBe(2);
    });
  });
});
