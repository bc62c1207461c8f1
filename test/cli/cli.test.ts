import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractStep } from '../../activities/extract.js';
import { decideCuts } from '../../lib/decide/cutRule.js';
import { runTsne } from '../../lib/embed/tsne/index.js';
import { readEmbedding, readFeatures, writeEmbedding } from '../../lib/io/arrowTensors.js';
import { slsScore } from '../../lib/score/silhouette.js';
import { stepArtifact } from '../../lib/store/step.js';
import { sls } from '../helpers/cli.js';
import {
  embeddingColumns,
  FIXTURES,
  MODEL,
  maxAbsDiff,
  REFERENCE_CURVE,
  SC_TOLERANCE,
  TEST_SPLIT,
  TRAIN,
  temporaryDir,
  VTAB_LIST,
  writePixelDataset,
} from '../helpers/fixtures.js';
import { sampleStandardDeviation } from '../helpers/statistics.js';
import { startTemporal } from '../helpers/temporal.js';

/** The rows of `sls run`'s table under repeats, top layer first: layer, mean SC, spread, each seed's SC. */
function tableRows(stdout: string): Array<{ layer: number; mean: number; spread: number; seeds: number[] }> {
  return [...stdout.matchAll(/^ *(\d+) +((?:-?\d+\.\d{4} +)+)(?:kept|pruned)/gm)].map((match) => {
    const [mean, spread, ...seeds] = match[2].trim().split(/ +/).map(Number);
    return { layer: Number(match[1]), mean, spread, seeds };
  });
}

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

  it('embed --tsne-gradient picks the gradient, and names the choices for an unknown one', async () => {
    const layer = join(out, 'layer-06.arrow');
    const embedding = join(out, 'embedding-bh.arrow');
    const result = await sls(['embed', layer, '--out', embedding, '--seed', '3', '--tsne-gradient', 'barnes_hut']);
    expect(result.code).toBe(0);
    const features = await readFeatures(layer);
    const expected = await runTsne(features.values, features.rows, features.dim, { seed: 3, method: 'barnes_hut' });
    expect(JSON.parse(result.stdout).kl).toBe(expected.klDivergence);
    const { x } = await readEmbedding(embedding);
    expect(x).toEqual(embeddingColumns(expected.embedding).x);
    const unknown = await sls(['embed', layer, '--out', embedding, '--tsne-gradient', 'bh']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/argument 'bh' is invalid\. Allowed choices are auto, exact, barnes_hut, fft/);
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

  // One artifact root for the runs of the fixture: a later run reuses what an earlier one made
  // (the repeats' run, the features and seed 0's t-SNEs), which no assertion relies on.
  const artifactRoot = temporaryDir('sls-artifacts-');
  const runEnvironment = () => ({
    SLS_TEMPORAL_ADDRESS: env.address,
    SLS_ARTIFACT_ROOT: artifactRoot,
    SLS_CPU_QUEUE: 'cli-cpu',
    SLS_GPU_QUEUE: 'cli-gpu',
  });

  it('runs the workflow through Temporal with its own worker and writes result.json', async () => {
    const out = temporaryDir();
    const environment = runEnvironment();
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

    // Naming the default gradient is the same run: the same workflow ID, every artifact reused.
    const explicitOut = temporaryDir();
    const explicit = await sls(
      [
        ...['run', '--model', MODEL, '--data', TRAIN, '--eval-data', TEST_SPLIT, '--alpha', '0.3', '--seed', '0'],
        ...['--tsne-gradient', 'auto', '--out', explicitOut],
      ],
      environment,
    );
    expect(explicit.code).toBe(0);
    const explicitReport = JSON.parse(readFileSync(join(explicitOut, 'result.json'), 'utf8'));
    expect(explicitReport.workflowId).toBe(report.workflowId);
    expect(explicitReport.scores).toEqual(report.scores);
    expect(explicitReport.reused).toMatchObject({ extract: true, emit: 1 });
  });

  /** `sls run` on the fixture with `args`, into a new output folder: it must succeed quietly; its stdout and result.json. */
  async function runToReport(args: string[]) {
    const out = temporaryDir();
    const result = await sls(['run', '--model', MODEL, '--data', TRAIN, ...args, '--out', out], runEnvironment());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return { stdout: result.stdout, report: JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) };
  }

  it("with --tsne-gradient barnes_hut scores scikit-learn's gradient's embeddings, not the default's", async () => {
    const { report } = await runToReport(['--alpha', '0.9', '--seed', '0', '--tsne-gradient', 'barnes_hut']);
    // Another gradient, another embedding: none of the default runs' t-SNEs is reused.
    expect(report.reused.embed).toBe(0);
    const featuresDir = stepArtifact(await extractStep({ model: MODEL, data: TRAIN, artifactRoot })).path;
    const features = await readFeatures(join(featuresDir, 'layer-06.arrow'));
    const { embedding } = await runTsne(features.values, features.rows, features.dim, { seed: 0, method: 'barnes_hut' });
    const { x, y } = embeddingColumns(embedding);
    expect(report.scores[5]).toBe(slsScore(x, y, features.labels));
  });

  it("with --repeats 3 prints every seed's score per layer, their mean and spread, and each seed's cut per alpha", async () => {
    const { stdout, report: written } = await runToReport(['--alpha', '0.3,0.9', '--seed', '0', '--repeats', '3']);
    // Repeat 0 is the run's seed, the others its hashes (test/lib/decide/repeats.test.ts).
    expect(stdout).toContain('layer  mean SC  spread    seed 0  seed 2462723854  seed 1020716019\n');
    const rows = tableRows(stdout);
    expect(rows.map((row) => row.layer)).toEqual([6, 5, 4, 3, 2, 1]);
    for (const { layer, mean, spread, seeds } of rows) {
      expect(seeds).toHaveLength(3);
      // Each printed number is rounded to 4 decimals: the mean of three by at most 1e-4 in all,
      // the sample standard deviation by at most 5e-5 * (1 + sqrt(3 / 2)).
      expect(Math.abs(mean - (seeds[0] + seeds[1] + seeds[2]) / 3)).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(spread - sampleStandardDeviation(seeds))).toBeLessThanOrEqual(1.25e-4);
      // Every seed's t-SNE scores as scikit-learn's does, to within two implementations' difference.
      for (const score of seeds) expect(Math.abs(score - REFERENCE_CURVE.scores[0][layer - 1])).toBeLessThan(SC_TOLERANCE);
    }
    // The mean curve cuts where the reference walk does.
    expect(stdout).toContain(`keep ${REFERENCE_CURVE.cuts['0.3']} of 6 blocks (alpha 0.3, `);
    expect(stdout).toContain(`\nalpha 0.9: keep ${REFERENCE_CURVE.cuts['0.9']} (`);
    // Each seed's own cut is the cut rule on its printed curve; stable when all are the mean curve's.
    const cuts = [0.3, 0.9].map((alpha) => ({
      alpha,
      kept: [0, 1, 2].map((repeat) => decideCuts(rows.map((row) => row.seeds[repeat]).reverse(), [alpha])[0].keptBlocks),
    }));
    const stable = cuts.every(({ alpha, kept }) => kept.every((blocks) => blocks === REFERENCE_CURVE.cuts[String(alpha)]));
    expect(stdout).toContain(
      [
        `${stable ? 'stable' : 'UNSTABLE'} over 3 repeats (the cut is the mean curve's):`,
        ...cuts.map(({ alpha, kept }) => `  alpha ${alpha}: the repeats keep ${kept.join(', ')} blocks`),
      ].join('\n'),
    );
    // result.json holds what the table printed.
    expect(written.repeats.seeds).toEqual([0, 2462723854, 1020716019]);
    expect(written.repeats.scores.map((row: number[]) => row.map((score) => score.toFixed(4))).reverse()).toEqual(
      rows.map((row) => row.seeds.map((score) => score.toFixed(4))),
    );
    expect(written.repeats.cuts.map((cut: { keptBlocks: number[] }) => cut.keptBlocks)).toEqual(cuts.map(({ kept }) => kept));
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
