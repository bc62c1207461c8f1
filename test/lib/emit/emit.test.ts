import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { decideCut } from '../../../lib/decide/cutRule.js';
import { type CheckpointManifest, emitCheckpoint } from '../../../lib/emit/emit.js';
import { readArrowTable, readFloatRows } from '../../../lib/io/arrowTensors.js';
import { findBlocks } from '../../../lib/onnx/blocks.js';
import { findHead } from '../../../lib/onnx/head.js';
import { collectOutputs, openModelInputs } from '../../../lib/onnx/inference.js';
import { loadModel } from '../../../lib/onnx/model.js';
import { createSession } from '../../../lib/onnx/session.js';
import { exposeTensors, truncateBlocks } from '../../../lib/onnx/surgery.js';
import { FIXTURES, MODEL, maxAbsDiff, REFERENCE, TEST_SPLIT, TRAIN, temporaryDir } from '../../helpers/fixtures.js';

/** scikit-learn's fit on the head input of the model cut to 3 blocks, and onnxruntime's accuracies (make_refit_fixtures.py). */
const SKLEARN: {
  kept_blocks: number;
  head_input: string;
  first_rows: number[][];
  coef: number[][];
  intercept: number[];
  objective: number;
  test_accuracy: number;
  full_test_accuracy: number;
  old_head_test_accuracy: number;
} = JSON.parse(readFileSync(join(FIXTURES, 'sklearn/head_refit.json'), 'utf8')).vit;

function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / scale;
}

/** The checkpoint's files in a store, at their final names. */
const files = (store: string, name: string) => ({
  model: join(store, `${name}.onnx`),
  manifest: join(store, `${name}.json`),
  name: `${name}.onnx`,
});

describe('emitCheckpoint', () => {
  // SC_2 < 0.3 * 0.5 and SC_3..SC_5 above: keep 3 blocks, as the PyTorch and scikit-learn references cut.
  const scores = [0.05, 0.1, 0.3, 0.4, 0.45, 0.5];
  let store: string;
  let manifest: CheckpointManifest;

  beforeAll(async () => {
    const decision = decideCut(scores, 0.3)!;
    expect(decision.keptBlocks).toBe(SKLEARN.kept_blocks);
    store = temporaryDir();
    ({ manifest } = await emitCheckpoint(MODEL, TRAIN, files(store, 'digits'), decision, scores, {
      evalData: TEST_SPLIT,
      speed: { repeats: 5 },
    }));
  });

  it('refits the head on the features scikit-learn was given, to its solution', async () => {
    // The features: what the cut model's head reads, as onnxruntime in Python computed them.
    const model = await loadModel(MODEL);
    const pruned = truncateBlocks(model, findBlocks(model, MODEL), 3);
    expect(findHead(pruned, MODEL).input).toBe(SKLEARN.head_input);
    const session = await createSession(exposeTensors(pruned, [SKLEARN.head_input]), 'cpu', MODEL);
    const features = await collectOutputs(session, await openModelInputs(model, MODEL, TRAIN), [SKLEARN.head_input]);
    await session.release();
    expect(maxAbsDiff(features[SKLEARN.head_input].values.subarray(0, 4 * 64), SKLEARN.first_rows.flat())).toBeLessThan(1e-5);

    // The checkpoint's head holds the fit: close to scikit-learn's coefficients, at its objective.
    const checkpoint = await loadModel(join(store, manifest.checkpoint));
    const tensor = (name: string) => {
      const found = checkpoint.graph!.initializer!.find((t) => t.name === name)!;
      return new Float32Array(Uint8Array.from(found.rawData!).buffer);
    };
    expect(relativeDiff(tensor('classifier.weight'), SKLEARN.coef.flat())).toBeLessThan(1e-3);
    expect(relativeDiff(tensor('classifier.bias'), SKLEARN.intercept)).toBeLessThan(1e-3);
    expect(manifest.head).toMatchObject({
      input: SKLEARN.head_input,
      weight: 'classifier.weight',
      bias: 'classifier.bias',
      C: 1,
      converged: true,
    });
    expect(Math.abs(manifest.head.objective - SKLEARN.objective)).toBeLessThan(1e-6);
  });

  it('reports the held-out accuracy of the full, the cut and the refit model', () => {
    expect(manifest.accuracy).toEqual({
      data: TEST_SPLIT,
      rows: 797,
      full: expect.closeTo(SKLEARN.full_test_accuracy, 6),
      prunedOriginalHead: expect.closeTo(SKLEARN.old_head_test_accuracy, 6),
      prunedRefitHead: expect.any(Number),
    });
    // Within one point of scikit-learn's refit on the same features.
    expect(Math.abs(manifest.accuracy!.prunedRefitHead - SKLEARN.test_accuracy)).toBeLessThanOrEqual(0.01);
    expect(manifest.accuracy!.prunedRefitHead).toBeGreaterThan(manifest.accuracy!.prunedOriginalHead);
  });

  it('writes a manifest of the cut, the cost kept and the speed, beside a runnable checkpoint', async () => {
    const written = JSON.parse(await readFile(join(store, 'digits.json'), 'utf8'));
    expect(written).toEqual(manifest);
    expect(manifest).toMatchObject({
      sourceModel: MODEL,
      trainData: TRAIN,
      blocks: 6,
      keptBlocks: 3,
      alpha: 0.3,
      threshold: 0.3 * 0.5,
      scores,
      checkpoint: 'digits.onnx',
      // flops.test.ts counts these by hand.
      multiplyAddsKept: 1884160,
      multiplyAddsTotal: 3718528,
    });
    // Three blocks pruned, each by hand: two norms, Q/K/V/output, MLP and adapter, with biases.
    const perBlock = 4 * 64 + 4 * (64 * 64 + 64) + (64 * 128 + 128) + (128 * 64 + 64) + (64 * 8 + 8) + (8 * 64 + 64);
    expect(manifest.parametersTotal - manifest.parametersKept).toBe(3 * perBlock);
    expect(manifest.speed).toMatchObject({ batch: 32, repeats: 5 });
    expect(manifest.storage.externalTensors).toBeGreaterThan(0);

    const session = await InferenceSession.create(join(store, manifest.checkpoint));
    expect(session.outputNames).toEqual(['logits']);
    const { values } = readFloatRows(await readArrowTable(TRAIN), 'pixels', TRAIN);
    const { logits } = await session.run({
      pixel_values: new Tensor('float32', values.slice(0, REFERENCE.rows * 768), [REFERENCE.rows, 3, 16, 16]),
    });
    expect(logits.dims).toEqual([REFERENCE.rows, 10]);
    await session.release();
  });

  it('leaves the accuracy out without a held-out split', async () => {
    const { manifest: other } = await emitCheckpoint(MODEL, TRAIN, files(temporaryDir(), 'no-eval'), decideCut(scores, 0.3)!, scores, {
      speed: { repeats: 1 },
    });
    expect(other.accuracy).toBeNull();
    expect(other.head.objective).toBe(manifest.head.objective);
  });
});
