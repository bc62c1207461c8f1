import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTsne } from '../../lib/embed/tsne/index.js';
import { storeUsage } from '../../lib/emit/checkpointStore.js';
import type { CheckpointManifest } from '../../lib/emit/emit.js';
import { readEmbedding, readFeatures } from '../../lib/io/arrowTensors.js';
import type { TemporalConfig } from '../../workers/config.js';
import { innermostCause } from '../../workflows/failureCause.js';
import type { PruneDatasetInput, PruneDatasetResult } from '../../workflows/pruneDataset.js';
import { KEPT_LAYERS, STAGE } from '../../workflows/searchAttributes.js';
import {
  embeddingColumns,
  FIXTURES,
  MODEL,
  NO_BLOCKS_MODEL,
  REFERENCE_CURVE,
  SC_TOLERANCE,
  TEST_SPLIT,
  TRAIN,
  temporaryDir,
  writePixelDataset,
} from '../helpers/fixtures.js';
import { digitsPruneInput, startTestbed, type Testbed } from '../helpers/temporal.js';

/** onnxruntime's accuracies in Python (make_refit_fixtures.py). */
const REFIT: { full_test_accuracy: number } = JSON.parse(readFileSync(join(FIXTURES, 'sklearn/head_refit.json'), 'utf8')).vit;

let testbed: Testbed;
let env: TestWorkflowEnvironment;
let config: TemporalConfig;

beforeAll(async () => {
  testbed = await startTestbed();
  ({ env, config } = testbed);
});

afterAll(() => testbed?.stop());

function input(overrides: Partial<PruneDatasetInput> = {}): PruneDatasetInput {
  return digitsPruneInput(config, overrides);
}

/** The workflow's history: which emit activities it scheduled, and when each was scheduled and ended. */
async function emitEvents(workflowId: string): Promise<Array<'scheduled' | 'ended'>> {
  const { events } = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const emits = new Set<string>();
  const seen: Array<'scheduled' | 'ended'> = [];
  for (const event of events ?? []) {
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'emitPrunedCheckpoint') {
      emits.add(String(event.eventId));
      seen.push('scheduled');
    }
    const ended = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes;
    if (ended && emits.has(String(ended.scheduledEventId))) seen.push('ended');
  }
  return seen;
}

async function execute(args: PruneDatasetInput): Promise<{ result: PruneDatasetResult; workflowId: string }> {
  const workflowId = `test-${randomUUID()}`;
  const result = await env.client.workflow.execute('PruneDatasetWorkflow', { args: [args], taskQueue: config.taskQueues.cpu, workflowId });
  return { result: result as PruneDatasetResult, workflowId };
}

describe('PruneDatasetWorkflow on a real Temporal server', () => {
  let first: PruneDatasetResult;
  let firstId: string;

  beforeAll(async () => {
    ({ result: first, workflowId: firstId } = await execute(input({ alphas: [0.3, 0.9], fullCurve: true, evalData: TEST_SPLIT })));
  });

  it('extracts, embeds every layer, scores, decides and emits', async () => {
    // Every layer's score is scikit-learn's (TSNE + min-max + silhouette_score) to within what
    // two t-SNE implementations differ by, and the cuts are those of the reference walk.
    expect(first.scores).toHaveLength(6);
    first.scores.forEach((score, index) => {
      expect(Math.abs((score as number) - REFERENCE_CURVE.scores[0][index])).toBeLessThan(SC_TOLERANCE);
    });
    expect(first.decisions.map((decision) => decision.keptBlocks)).toEqual([REFERENCE_CURVE.cuts['0.3'], REFERENCE_CURVE.cuts['0.9']]);
    expect(first.features).toMatchObject({ rows: 1000, dim: 64, reused: false });
    expect(first.reused).toEqual({ extract: false, embed: 0, emit: 0 });
    const [checkpoint] = first.checkpoints;
    expect(checkpoint.keptBlocks).toBe(first.decisions[0].keptBlocks);
    const session = await InferenceSession.create(checkpoint.checkpoint);
    expect(session.outputNames).toEqual(['logits']);
    await session.release();
    // The manifest reports (a)/(b)/(c) on the held-out split; (a) as onnxruntime in Python measured it.
    const manifest = JSON.parse(await readFile(checkpoint.manifestFile, 'utf8')) as CheckpointManifest;
    expect(manifest.accuracy).toEqual(checkpoint.accuracy);
    expect(checkpoint.accuracy).toMatchObject({ data: TEST_SPLIT, rows: 797, full: expect.closeTo(REFIT.full_test_accuracy, 6) });
    // The head was refit on extract's features of the kept block, not on another forward pass.
    expect(manifest.head).toMatchObject({
      converged: true,
      featuresFile: join(first.features.featuresDir, `layer-${String(checkpoint.keptBlocks).padStart(2, '0')}.arrow`),
      forwardPassBecause: null,
    });
    expect(checkpoint.multiplyAddsKept).toBeLessThanOrEqual(checkpoint.multiplyAddsTotal);
    // Both cuts live in one store: the blocks they share are one file each there.
    const usage = await storeUsage(checkpoint.storeDir);
    expect(usage.models).toBe(2);
    const externalBytes = await Promise.all(
      first.checkpoints.map(async (c) => (JSON.parse(await readFile(c.manifestFile, 'utf8')) as CheckpointManifest).storage.externalBytes),
    );
    expect(usage.tensorBytes).toBeLessThan(externalBytes[0] + externalBytes[1]);
    // Two depths, two emits, one after another: neither times its speed beside the other.
    expect(await emitEvents(firstId)).toEqual(['scheduled', 'ended', 'scheduled', 'ended']);
    expect(manifest.speed.latencySpread.rounds).toHaveLength(manifest.speed.repeats);
    expect(checkpoint.speed).toEqual({
      latencySpeedup: manifest.speed.latencySpeedup,
      latencySpread: manifest.speed.latencySpread,
      throughputSpeedup: manifest.speed.throughputSpeedup,
      throughputSpread: manifest.speed.throughputSpread,
    });
    // Each embedding keeps the features' row order and labels.
    const features = await readFeatures(join(first.features.featuresDir, 'layer-01.arrow'));
    expect(features.rows).toBe(1000);
  });

  it('keeps the Stage and KeptLayers search attributes current', async () => {
    const description = await env.client.workflow.getHandle(firstId).describe();
    expect(description.typedSearchAttributes.get(STAGE)).toBe('done');
    expect(description.typedSearchAttributes.get(KEPT_LAYERS)).toBe(first.decisions[0].keptBlocks);
  });

  it('reuses every artifact on a second run instead of recomputing it', async () => {
    const embeddingTimes = await Promise.all(first.embeddings.map(async (e) => (await stat(e.embeddingFile)).mtimeMs));
    const { result: second } = await execute(input({ alphas: [0.3, 0.9], fullCurve: true, evalData: TEST_SPLIT }));
    expect(second.reused).toEqual({ extract: true, embed: 6, emit: 2 });
    expect(second.scores).toEqual(first.scores);
    expect(second.checkpoints).toEqual(first.checkpoints);
    const after = await Promise.all(second.embeddings.map(async (e) => (await stat(e.embeddingFile)).mtimeMs));
    expect(after).toEqual(embeddingTimes);
  });

  it('records what made each checkpoint, and rebuilds a damaged one instead of using it', async () => {
    const [checkpoint] = first.checkpoints;
    const lineage = JSON.parse(readFileSync(`${checkpoint.checkpoint}.lineage.json`, 'utf8'));
    expect(lineage).toMatchObject({
      step: 'emit',
      inputs: { model: { path: MODEL }, data: { path: TRAIN }, evalData: { path: TEST_SPLIT } },
    });
    // The key holds the depth; the alphas that chose it and the scores are notes.
    expect(lineage.parameters).toMatchObject({ keptBlocks: first.decisions[0].keptBlocks, alphas: [0.3], scores: first.scores });
    const original = readFileSync(checkpoint.checkpoint);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 1] ^= 0xff;
    writeFileSync(checkpoint.checkpoint, damaged);
    const { result } = await execute(input({ alphas: [0.3, 0.9], fullCurve: true, evalData: TEST_SPLIT }));
    expect(result.reused).toEqual({ extract: true, embed: 6, emit: 1 });
    expect(readFileSync(checkpoint.checkpoint)).toEqual(original);
  });

  it('emits one checkpoint for alphas that keep the same depth, and one entry per alpha pointing to it', async () => {
    // 0.2, 0.3 and 0.6 all fail at layer 1 of the reference curve (SC_1 = 0.07, SC_2 = 0.42 and
    // SC_6 = 0.63: T = 0.13, 0.19, 0.38): each keeps blocks 1..2. No held-out split: a new key.
    const { result, workflowId } = await execute(input({ alphas: [0.2, 0.3, 0.6] }));
    expect(result.decisions.map((decision) => decision.keptBlocks)).toEqual([2, 2, 2]);
    expect(await emitEvents(workflowId)).toEqual(['scheduled', 'ended']);
    expect(result.reused.emit).toBe(0);
    expect(result.checkpoints.map((checkpoint) => checkpoint.alpha)).toEqual([0.2, 0.3, 0.6]);
    expect(new Set(result.checkpoints.map((checkpoint) => checkpoint.checkpoint)).size).toBe(1);
    const manifest = JSON.parse(await readFile(result.checkpoints[0].manifestFile, 'utf8')) as CheckpointManifest;
    expect(manifest.chosenBy).toEqual(result.decisions.map(({ keptBlocks: _, ...chosen }) => chosen));
    expect(result.checkpoints[2].chosenBy).toEqual(manifest.chosenBy);
  });

  it('scores from the top down and stops once the cut is decided', async () => {
    const { result } = await execute(input({ alphas: [0.3], waveSize: 1 }));
    // The reference walk keeps blocks 1..2 at alpha 0.3: it fails at layer 1, so every layer is
    // needed; at alpha 0.9 it keeps 1..5, failing at layer 4: layers 1..3 are never embedded.
    expect(result.decisions[0].keptBlocks).toBe(REFERENCE_CURVE.cuts['0.3']);
    expect(result.scores.every((score) => score !== null)).toBe(true);
    const { result: early } = await execute(input({ alphas: [0.9], waveSize: 1 }));
    expect(early.decisions[0].keptBlocks).toBe(REFERENCE_CURVE.cuts['0.9']);
    expect(early.scores.map((score) => score !== null)).toEqual([false, false, false, true, true, true]);
    expect(early.scores.slice(3)).toEqual(first.scores.slice(3));
  });

  it("embeds with the gradient it is given, under that gradient's own key", async () => {
    // 1,000 rows: 'auto' takes the exact gradient; Barnes-Hut's embedding is another one.
    const { result } = await execute(input({ alphas: [0.9], waveSize: 1, tsneGradient: 'barnes_hut' }));
    const top = result.embeddings.find((embedding) => embedding.layer === 6);
    const autoTop = first.embeddings.find((embedding) => embedding.layer === 6);
    if (!top || !autoTop) throw new Error('both runs embed the top layer');
    expect(top.reused).toBe(false);
    expect(top.embeddingFile).not.toBe(autoTop.embeddingFile);
    const features = await readFeatures(join(result.features.featuresDir, 'layer-06.arrow'));
    const expected = await runTsne(features.values, features.rows, features.dim, { seed: 0, method: 'barnes_hut' });
    const embedded = await readEmbedding(top.embeddingFile);
    const { x, y } = embeddingColumns(expected.embedding);
    expect(embedded.x).toEqual(x);
    expect(embedded.y).toEqual(y);
    expect(embedded.x).not.toEqual((await readEmbedding(autoTop.embeddingFile)).x);
  });
});

describe('PruneDatasetWorkflow on bad input', () => {
  async function expectNonRetryable(args: PruneDatasetInput, message: RegExp): Promise<void> {
    const error = await execute(args).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const activityFailure = (error as WorkflowFailedError).cause;
    expect(activityFailure).toBeInstanceOf(ActivityFailure);
    const cause = (activityFailure as ActivityFailure).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(message);
  }

  it('fails at once, without retries, on a missing model', async () => {
    await expectNonRetryable(input({ model: '/nonexistent/model.onnx' }), /\/nonexistent\/model\.onnx: not found/);
  });

  it('fails at once on a model without blocks', async () => {
    await expectNonRetryable(input({ model: NO_BLOCKS_MODEL }), /mlp\.onnx: no transformer blocks found/);
  });

  it('fails at once on an unknown t-SNE gradient, before any work', async () => {
    const error = await execute(input({ tsneGradient: 'bh' as 'barnes_hut' })).catch((failure) => failure);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(error.cause).toMatchObject({
      type: 'InputError',
      nonRetryable: true,
      message: 'the t-SNE gradient must be one of auto, exact, barnes_hut, fft, got "bh"',
    });
  });

  it('fails at once on a dataset with one class', async () => {
    const path = join(temporaryDir(), 'one-class.arrow');
    writePixelDataset(path, new Float32Array(4 * 768), 768, new Int32Array(4));
    await expectNonRetryable(input({ data: path }), /one-class\.arrow: the dataset has one class/);
  });
});

describe('PruneDatasetWorkflow on a score that is not a silhouette', () => {
  it('fails at once, non-retryably, naming the layer and the embedding, instead of retrying its task forever', async () => {
    // Stub steps on a queue of their own: three layers, and the top one scores NaN (null after JSON).
    const taskQueue = `stub-${randomUUID().slice(0, 8)}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
      activities: {
        extractLayerFeatures: async () => ({
          featuresDir: '/stub',
          layerFiles: [1, 2, 3].map((layer) => `/stub/layer-0${layer}.arrow`),
          rows: 10,
          dim: 4,
          imagesPerSecond: 1,
          reused: false,
        }),
        embedLayer: async ({ layer }: { layer: number }) => ({ layer, embeddingFile: `/stub/embedding-${layer}.arrow`, reused: false }),
        scoreEmbedding: async (file: string) => (file.endsWith('-3.arrow') ? Number.NaN : 0.5),
      },
    });
    const run = env.client.workflow.execute('PruneDatasetWorkflow', {
      args: [input({ taskQueues: { gpu: taskQueue, cpu: taskQueue } })],
      taskQueue,
      workflowId: `test-${randomUUID()}`,
      // Without the check the workflow task fails and is retried until this runs out.
      workflowExecutionTimeout: '60s',
    });
    const error = await worker.runUntil(
      run.then(
        () => null,
        (failure: unknown) => failure,
      ),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.nonRetryable).toBe(true);
    expect(cause.type).toBe('InputError');
    expect(cause.message).toBe('/stub/embedding-3.arrow: the score of layer 3 is null, not a silhouette in [-1, 1]');
    expect(innermostCause(error)).toEqual({ message: cause.message, stage: 'score', file: '/stub/embedding-3.arrow', badInput: true });
  });
});
