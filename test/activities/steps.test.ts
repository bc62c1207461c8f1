/**
 * The artifact keys of extract, embed and emit are users' caches: these are the keys the code
 * produced before the steps went through lib/store/step.ts, recorded on the fixtures.
 */
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embedStep } from '../../activities/embed.js';
import { emitStep } from '../../activities/emit.js';
import { extractStep } from '../../activities/extract.js';
import { decideCut } from '../../lib/decide/cutRule.js';
import { stepArtifact } from '../../lib/store/step.js';
import { FIXTURES, IMAGES, MODEL, TEST_SPLIT, TRAIN } from '../helpers/fixtures.js';

const ROOT = '/artifacts';
const FEATURES = join(FIXTURES, 'digits/features-40x8.arrow');
const where = async (definition: Parameters<typeof stepArtifact>[0] | Promise<Parameters<typeof stepArtifact>[0]>) =>
  relative(ROOT, stepArtifact(await definition).path);

describe('artifact keys', () => {
  it('extract: features/<key> as before', async () => {
    expect(await where(extractStep({ model: MODEL, data: TRAIN, artifactRoot: ROOT }))).toBe('features/1234d7a8f8e5a0d87f64cf18');
    expect(
      await where(
        extractStep({ model: MODEL, data: IMAGES, artifactRoot: ROOT, mean: '0.5,0.5,0.5', std: '0.25,0.25,0.25', batchSize: 7 }),
      ),
    ).toBe('features/4fe91e04aab6e3a9ccf5bf6d');
  });

  it('embed: embeddings/<key>.arrow (version 4)', async () => {
    // Embed version 3: 'auto' picks Barnes-Hut or the FFT gradient at each gradient by the
    // embedding's extent (gradientChoice.ts), which changes embeddings of a few thousand points and more; version
    // 2's keys for these inputs were 60b19e969b997a22d6128d30 and ba5ff83922fa4d7157766de1.
    // Version 4: Barnes-Hut's cost in that choice was refit to the faster tree walk, so some
    // gradients switch earlier; version 3's keys were 762567881381b9925587bba6 and 555de3422139742d8cf20892.
    expect(await where(embedStep({ featuresFile: FEATURES, layer: 3, seed: 3, perplexity: 5, artifactRoot: ROOT }))).toBe(
      'embeddings/f472321a1ae997b2a52e4361.arrow',
    );
    expect(await where(embedStep({ featuresFile: FEATURES, layer: 1, seed: 0, perplexity: 10, artifactRoot: ROOT }))).toBe(
      'embeddings/8069f1f1e253c62231a49100.arrow',
    );
    // The default gradient keeps those keys; another one is another embedding.
    const layerThree = { featuresFile: FEATURES, layer: 3, seed: 3, perplexity: 5, artifactRoot: ROOT };
    expect(await where(embedStep({ ...layerThree, tsneGradient: 'auto' }))).toBe('embeddings/f472321a1ae997b2a52e4361.arrow');
    const barnesHut = await where(embedStep({ ...layerThree, tsneGradient: 'barnes_hut' }));
    const exact = await where(embedStep({ ...layerThree, tsneGradient: 'exact' }));
    expect(new Set(['embeddings/f472321a1ae997b2a52e4361.arrow', barnesHut, exact]).size).toBe(3);
  });

  it('emit: checkpoints/<key>.onnx and its manifest <key>.json, keyed on the kept depth (version 4)', async () => {
    // Emit version 3 changed what an emit key means, for one alpha too: version 2 hashed the
    // decision (alpha, threshold, reason) and the scores, so that alphas keeping the same depth
    // each built their own copy of one checkpoint (version 2's keys for these inputs were
    // 726c9b2a37a7ea7a37783088 and 73a4a24e79f7ae9ed2e2f78f). Version 3 hashes the kept depth only.
    // Version 4 keys the same inputs but writes another manifest: its speed rounds stop at a
    // time budget too, and it says how many were taken and why (version 3's keys for these inputs
    // were bbce775ea499c7e2b5f0b1a2 and c0348bfbdb63574867588dfc).
    const scores = [0.05, 0.1, 0.3, 0.4, 0.45, 0.5];
    const decision = decideCut(scores, 0.3)!;
    const withEval = stepArtifact(
      await emitStep({
        model: MODEL,
        data: TRAIN,
        evalData: TEST_SPLIT,
        artifactRoot: ROOT,
        decisions: [decision],
        scores: [null, ...scores.slice(1)],
      }),
    );
    expect(relative(ROOT, withEval.path)).toBe('checkpoints/9a5a02490667b068f6821614.onnx');
    expect(withEval.companions.map((file) => relative(ROOT, file))).toEqual(['checkpoints/9a5a02490667b068f6821614.json']);
    const withoutEval = await where(emitStep({ model: MODEL, data: TRAIN, artifactRoot: ROOT, decisions: [decision], scores }));
    expect(withoutEval).toBe('checkpoints/489cdfb1808682be847006df.onnx');

    // Not which alphas chose the depth, nor the scores the walk needed for them: one checkpoint.
    const sameDepth = [0.05, 0.3, 0.6].map((alpha) => ({ ...decision, alpha, threshold: alpha * 0.5 }));
    expect(
      await where(emitStep({ model: MODEL, data: TRAIN, artifactRoot: ROOT, decisions: sameDepth, scores: [null, ...scores.slice(1)] })),
    ).toBe(withoutEval);
    // Another depth is another checkpoint.
    const deeper = { ...decision, keptBlocks: 4 };
    expect(await where(emitStep({ model: MODEL, data: TRAIN, artifactRoot: ROOT, decisions: [deeper], scores }))).not.toBe(withoutEval);
    await expect(emitStep({ model: MODEL, data: TRAIN, artifactRoot: ROOT, decisions: [decision, deeper], scores })).rejects.toThrow(
      /one kept depth/,
    );
  });
});
