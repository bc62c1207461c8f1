import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideCut } from '../../lib/decide/cutRule.js';
import type { CheckpointManifest } from '../../lib/emit/emit.js';
import type { TemporalConfig } from '../../workers/config.js';
import type { PruneDatasetInput, PruneDatasetResult } from '../../workflows/pruneDataset.js';
import { STABLE } from '../../workflows/searchAttributes.js';
import { digitsPruneInput, startTestbed, type Testbed } from '../helpers/temporal.js';

let testbed: Testbed;
let env: TestWorkflowEnvironment;
let config: TemporalConfig;

function input(overrides: Partial<PruneDatasetInput> = {}): PruneDatasetInput {
  return digitsPruneInput(config, { alphas: [0.3, 0.9], ...overrides });
}

async function execute(args: PruneDatasetInput): Promise<{ result: PruneDatasetResult; workflowId: string }> {
  const workflowId = `test-${randomUUID()}`;
  const result = await env.client.workflow.execute('PruneDatasetWorkflow', { args: [args], taskQueue: config.taskQueues.cpu, workflowId });
  return { result: result as PruneDatasetResult, workflowId };
}

const manifestOf = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as CheckpointManifest;

describe('PruneDatasetWorkflow with three t-SNE seeds per layer, on a real Temporal server', () => {
  let repeated: PruneDatasetResult;
  let repeatedId: string;

  beforeAll(async () => {
    testbed = await startTestbed();
    ({ env, config } = testbed);
    ({ result: repeated, workflowId: repeatedId } = await execute(input({ repeats: 3 })));
  });

  afterAll(() => testbed?.stop());

  it('scores three seeds per layer and cuts the mean curve', () => {
    const repeats = repeated.repeats;
    if (!repeats) throw new Error('a run with repeats must report them');
    // Repeat 0 is the run's own seed; the others its murmur3 hashes (test/lib/decide/repeats.test.ts).
    expect(repeats.seeds).toEqual([0, 2462723854, 1020716019]);
    repeats.scores.forEach((row, index) => {
      const mean = repeated.scores[index];
      if (row.every((score) => score !== null)) expect(mean).toBeCloseTo((row[0] + row[1] + row[2]) / 3, 14);
      else expect(mean).toBeNull();
    });
    // The top layer under every seed: its t-SNEs differ, so do their scores.
    expect(new Set(repeats.scores[5]).size).toBe(3);
    const curve = repeated.scores.map((score) => score ?? undefined);
    expect(repeated.decisions).toEqual([decideCut(curve, 0.3), decideCut(curve, 0.9)]);
    repeats.cuts.forEach((cut, index) => {
      const own = [0, 1, 2].map(
        (repeat) =>
          decideCut(
            repeats.scores.map((row) => row[repeat] ?? undefined),
            cut.alpha,
          )?.keptBlocks,
      );
      expect(cut.keptBlocks).toEqual(own);
      expect(cut.stable).toBe(own.every((kept) => kept === repeated.decisions[index].keptBlocks));
    });
    expect(repeats.stable).toBe(repeats.cuts.every((cut) => cut.stable));
    expect(repeated.embeddings.filter((embedding) => embedding.layer === 6).map((embedding) => embedding.repeat)).toEqual([0, 1, 2]);
  });

  it('sets the Stable search attribute and writes the stability line into each manifest', async () => {
    const description = await env.client.workflow.getHandle(repeatedId).describe();
    expect(description.typedSearchAttributes.get(STABLE)).toBe(repeated.repeats?.stable);
    const manifests = await Promise.all(repeated.checkpoints.map((checkpoint) => manifestOf(checkpoint.manifestFile)));
    // Each alpha's line in the manifest of the checkpoint it chose.
    const stabilities = manifests.map(
      (manifest, index) => manifest.chosenBy.find((chosen) => chosen.alpha === repeated.decisions[index].alpha)?.stability,
    );
    expect(stabilities).toEqual(
      repeated.repeats?.cuts.map((cut) => ({
        repeats: 3,
        seeds: repeated.repeats?.seeds,
        stable: repeated.repeats?.stable,
        keptBlocks: cut.keptBlocks,
      })),
    );
    expect(manifests.map((manifest) => manifest.scores)).toEqual([repeated.scores, repeated.scores]);
  });

  it("gives today's run with one repeat: the same embedding artifacts as repeat 0, no stability anywhere", async () => {
    const { result: single, workflowId } = await execute(input());
    const repeatZero = repeated.embeddings.filter((embedding) => embedding.repeat === 0);
    // Every layer the single-seed walk needs was embedded by repeat 0 under the same key.
    expect(single.reused.embed).toBe(single.embeddings.length);
    for (const embedding of single.embeddings) {
      expect(embedding).toEqual({ layer: embedding.layer, embeddingFile: expect.any(String), reused: true });
      expect(repeatZero.find((zero) => zero.layer === embedding.layer)?.embeddingFile).toBe(embedding.embeddingFile);
    }
    expect(single.repeats).toBeUndefined();
    expect((await env.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(STABLE)).toBeUndefined();
    // Its checkpoints are those of the depths it keeps: the ones the repeated run made where it
    // keeps the same depth (their manifests tell of the run that built them).
    // An explicit single repeat is the same run: same scores, cuts and checkpoints (all reused).
    const { result: explicit } = await execute(input({ repeats: 1 }));
    expect(explicit.reused).toEqual({ extract: true, embed: single.embeddings.length, emit: 2 });
    expect({ ...explicit, reused: undefined }).toEqual({ ...single, reused: undefined });
  });

  it('fails at once on a repeat count under 1', async () => {
    const error = await execute(input({ repeats: 0 })).catch((failure) => failure);
    expect(error.cause).toMatchObject({ type: 'InputError', nonRetryable: true, message: 'repeats must be a positive integer, got 0' });
  });
});
