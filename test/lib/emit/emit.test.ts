import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CutDecision } from '../../../lib/decide/cutRule.js';
import { decideCut } from '../../../lib/decide/cutRule.js';
import { topOneAccuracy } from '../../../lib/emit/accuracy.js';
import { type CheckpointManifest, emitCheckpoint, sharedKeptBlocks } from '../../../lib/emit/emit.js';
import { fitLogisticRegression } from '../../../lib/emit/headRefit.js';
import { extractFeatures, layerFileName } from '../../../lib/extract/extract.js';
import { readArrowTable, readFloatRows } from '../../../lib/io/arrowTensors.js';
import { findBlocks } from '../../../lib/onnx/blocks.js';
import { findHead } from '../../../lib/onnx/head.js';
import { collectOutputs, openModelInputs } from '../../../lib/onnx/inference.js';
import { loadModel } from '../../../lib/onnx/model.js';
import { createSession } from '../../../lib/onnx/session.js';
import { exposeTensors, truncateBlocks } from '../../../lib/onnx/surgery.js';
import { EXPORTS } from '../../helpers/exports.js';
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
    ({ manifest } = await emitCheckpoint(MODEL, TRAIN, files(store, 'digits'), [decision], scores, {
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
      featuresFile: null,
      forwardPassBecause: null,
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
      undefinedBecause: null,
    });
    // Within one point of scikit-learn's refit on the same features.
    expect(Math.abs(manifest.accuracy!.prunedRefitHead - SKLEARN.test_accuracy)).toBeLessThanOrEqual(0.01);
    expect(manifest.accuracy!.prunedRefitHead).toBeGreaterThan(manifest.accuracy!.prunedOriginalHead!);
  });

  it('writes a manifest of the cut, the cost kept and the speed, beside a runnable checkpoint', async () => {
    const written = JSON.parse(await readFile(join(store, 'digits.json'), 'utf8'));
    expect(written).toEqual(manifest);
    expect(manifest).toMatchObject({
      sourceModel: MODEL,
      trainData: TRAIN,
      blocks: 6,
      keptBlocks: 3,
      chosenBy: [{ alpha: 0.3, threshold: 0.3 * 0.5, failedLayer: 2, reason: expect.any(String) }],
      scores,
      checkpoint: 'digits.onnx',
      // flops.test.ts counts these by hand.
      multiplyAddsKept: 1884160,
      multiplyAddsTotal: 3718528,
    });
    // Three blocks pruned, each by hand: two norms, Q/K/V/output, MLP and adapter, with biases.
    const perBlock = 4 * 64 + 4 * (64 * 64 + 64) + (64 * 128 + 128) + (128 * 64 + 64) + (64 * 8 + 8) + (8 * 64 + 64);
    expect(manifest.parametersTotal - manifest.parametersKept).toBe(3 * perBlock);
    // Five rounds asked for, five at least: the count stopped them, not the 30 s budget.
    expect(manifest.speed).toMatchObject({
      batch: 32,
      repeats: 5,
      stoppedBy: 'count',
      limits: { maxRepeats: 5, minRepeats: 5, budgetSeconds: 30 },
    });
    expect(manifest.speed.latencySpread.rounds).toHaveLength(5);
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

  it('keeping every block, takes the full model for the pruned one with its old head, without a second pass', async () => {
    const all: CutDecision = { alpha: 0.3, threshold: 0, keptBlocks: 6, failedLayer: null, reason: 'SC_N <= 0' };
    const steps = new Set<string>();
    const { manifest: whole } = await emitCheckpoint(MODEL, TRAIN, files(temporaryDir(), 'whole'), [all], scores, {
      evalData: TEST_SPLIT,
      speed: { repeats: 1 },
      onProgress: (step) => steps.add(step),
    });
    expect(whole.accuracy).toMatchObject({
      full: expect.closeTo(SKLEARN.full_test_accuracy, 6),
      prunedOriginalHead: expect.closeTo(SKLEARN.full_test_accuracy, 6),
    });
    expect([...steps].filter((step) => step.startsWith('accuracy'))).toEqual(['accuracy (full)', 'accuracy (pruned, refit head)']);
  });

  it('leaves the accuracy out without a held-out split; a spent speed budget stops the rounds at the minimum', async () => {
    // A budget of 0 s is spent before any round: the minimum of 2 rounds, of the 20 allowed.
    const { manifest: other } = await emitCheckpoint(MODEL, TRAIN, files(temporaryDir(), 'no-eval'), [decideCut(scores, 0.3)!], scores, {
      speed: { repeats: 20, minRepeats: 2, budgetSeconds: 0 },
    });
    expect(other.speed).toMatchObject({ repeats: 2, stoppedBy: 'budget', limits: { maxRepeats: 20, minRepeats: 2, budgetSeconds: 0 } });
    expect(other.speed.throughputSpread.rounds).toHaveLength(2);
    expect(other.accuracy).toBeNull();
    expect(other.head.objective).toBe(manifest.head.objective);
  });
});

describe('emitCheckpoint from the extracted features of block k', () => {
  const scores = [0.05, 0.1, 0.3, 0.4, 0.45, 0.5];
  let layerFile: (layer: number) => string;
  beforeAll(async () => {
    const features = temporaryDir();
    await extractFeatures(MODEL, TRAIN, features);
    layerFile = (layer) => join(features, layerFileName(layer));
  });

  it("refits the head on block 3's CLS tokens through the final norm, to scikit-learn's solution", async () => {
    const store = temporaryDir();
    const { manifest } = await emitCheckpoint(MODEL, TRAIN, files(store, 'features'), [decideCut(scores, 0.3)!], scores, {
      trainFeatures: layerFile(3),
      speed: { repeats: 1 },
    });
    expect(manifest.head).toMatchObject({ featuresFile: layerFile(3), forwardPassBecause: null, converged: true });
    // scikit-learn was fit on the head input of the model cut to 3 blocks, as onnxruntime in
    // Python computed it: the same features give its optimum and its coefficients.
    expect(Math.abs(manifest.head.objective - SKLEARN.objective)).toBeLessThan(1e-6);
    const weight = (await loadModel(join(store, manifest.checkpoint))).graph!.initializer!.find((t) => t.name === 'classifier.weight')!;
    expect(relativeDiff(new Float32Array(Uint8Array.from(weight.rawData!).buffer), SKLEARN.coef.flat())).toBeLessThan(1e-3);
  });

  it("runs the split through the pruned model where the features are another block's or another split's", async () => {
    const decision = decideCut(scores, 0.3)!;
    const emit = async (trainFeatures: string) =>
      (await emitCheckpoint(MODEL, TRAIN, files(temporaryDir(), 'forward'), [decision], scores, { trainFeatures, speed: { repeats: 1 } }))
        .manifest.head;
    const otherBlock = await emit(layerFile(2));
    expect(otherBlock).toMatchObject({ featuresFile: null, forwardPassBecause: expect.stringMatching(/is not block k's CLS token/) });
    expect(Math.abs(otherBlock.objective - SKLEARN.objective)).toBeLessThan(1e-6);
    // 40 rows of other labels.
    const otherSplit = await emit(join(FIXTURES, 'digits/features-40x8.arrow'));
    expect(otherSplit).toMatchObject({
      featuresFile: null,
      forwardPassBecause: expect.stringMatching(/labels are not the training split's/),
    });
  });
});

describe('emitCheckpoint on a backbone exported without a head', () => {
  const decision: CutDecision = { alpha: 0.3, threshold: 0.1, keptBlocks: 2, failedLayer: 1, reason: 'SC_1 < T' };
  const DIM = 32;
  const CLASSES = 10;

  // HF ViTModel exports: last_hidden_state (the final norm's output) and a pooler, no logits.
  for (const name of ['hf-model-lora-torchscript', 'hf-model-lora-dynamo']) {
    it(`${name}: appends a linear head on the final norm's CLS token, fit on the training split`, async () => {
      const source = join(EXPORTS, name, 'model.onnx');
      const store = temporaryDir();
      const { manifest } = await emitCheckpoint(source, TRAIN, files(store, 'headless'), [decision], [null, 0.2, 0.3, 0.4], {
        evalData: TEST_SPLIT,
        speed: { repeats: 2, warmup: 0 },
      });

      // The features, by the test's own route: the export cut to 2 blocks, token 0 of last_hidden_state.
      const model = await loadModel(source);
      const cut = await createSession(truncateBlocks(model, findBlocks(model, source), 2), 'cpu', source);
      const { values: pixels } = readFloatRows(await readArrowTable(TRAIN), 'pixels', TRAIN);
      const { labels } = (await openModelInputs(model, source, TRAIN)).dataset;
      const rows = labels.length;
      const pixelTensor = new Tensor('float32', pixels, [rows, 3, 16, 16]);
      const hidden = (await cut.run({ pixel_values: pixelTensor }, ['last_hidden_state'])).last_hidden_state;
      await cut.release();
      const tokens = hidden.dims[1];
      const features = new Float32Array(rows * DIM);
      for (let row = 0; row < rows; row++)
        features.set((hidden.data as Float32Array).subarray(row * tokens * DIM, row * tokens * DIM + DIM), row * DIM);

      // The fit on those features (headRefit.test.ts holds it to scikit-learn), and its logits x W^T + b.
      const fit = await fitLogisticRegression(features, labels, DIM, { C: 1 });
      const expected = new Float32Array(rows * CLASSES);
      let correct = 0;
      for (let row = 0; row < rows; row++) {
        for (let c = 0; c < CLASSES; c++) {
          let z = fit.intercepts[c];
          for (let j = 0; j < DIM; j++) z += fit.weights[c * DIM + j] * features[row * DIM + j];
          expected[row * CLASSES + c] = z;
        }
        const scores = expected.subarray(row * CLASSES, (row + 1) * CLASSES);
        if (scores.indexOf(Math.max(...scores)) === labels[row]) correct++;
      }

      // The checkpoint runs on its own and gives those logits, hence the fit's training accuracy.
      const session = await InferenceSession.create(join(store, manifest.checkpoint));
      expect(session.outputNames).toEqual(['logits']);
      const { logits } = await session.run({ pixel_values: pixelTensor });
      await session.release();
      expect(logits.dims).toEqual([rows, CLASSES]);
      expect(relativeDiff(logits.data as Float32Array, expected)).toBeLessThan(1e-4);
      expect(topOneAccuracy(logits.data as Float32Array, CLASSES, labels)).toBe(correct / rows);
      // The fixture backbones are random and tiny; still well above chance (10 classes).
      expect(correct / rows).toBeGreaterThan(0.2);

      expect(manifest.head).toMatchObject({ appended: true, weight: 'sls.head.weight', bias: 'sls.head.bias', converged: true });
      expect(manifest.accuracy).toEqual({
        data: TEST_SPLIT,
        rows: 797,
        full: null,
        prunedOriginalHead: null,
        prunedRefitHead: expect.any(Number),
        undefinedBecause: expect.stringContaining('no head'),
      });
      const metadata = Object.fromEntries((await loadModel(join(store, manifest.checkpoint))).metadataProps!.map((p) => [p.key, p.value]));
      expect(metadata).toMatchObject({ 'sls.head': 'new', 'sls.kept_blocks': '2', 'sls.alphas': '0.3' });
    }, 120_000);
  }
});

describe('sharedKeptBlocks', () => {
  const keeping = (alpha: number, keptBlocks: number): CutDecision => ({
    alpha,
    threshold: alpha,
    keptBlocks,
    failedLayer: null,
    reason: '',
  });

  it('is the depth the decisions agree on, and refuses decisions that do not', () => {
    expect(sharedKeptBlocks([keeping(0.05, 1), keeping(0.3, 1), keeping(0.6, 1)])).toBe(1);
    expect(() => sharedKeptBlocks([keeping(0.05, 1), keeping(0.6, 2)])).toThrow(/one kept depth, got 1, 2/);
    expect(() => sharedKeptBlocks([])).toThrow(/got none/);
  });
});
