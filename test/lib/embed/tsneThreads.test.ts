/**
 * t-SNE off the calling thread and across threads, and resuming from a saved state: each must
 * give exactly (bit for bit) what one uninterrupted run on the calling thread gives.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embedFeatureFile } from '../../../lib/embed/layerEmbedding.js';
import { runTsne, type TsneResult } from '../../../lib/embed/tsne/index.js';
import { exactNeighbors } from '../../../lib/embed/tsne/neighbors.js';
import { runTsneOffThread } from '../../../lib/embed/tsne/offThread.js';
import { pcaInitialization } from '../../../lib/embed/tsne/pca.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import { workOnRowProducts } from '../../../lib/embed/tsne/rowProductsKernel.js';
import { decodeState, encodeState, loadState, saveState, type TsneState } from '../../../lib/embed/tsne/state.js';
import { startTsneTeam } from '../../../lib/embed/tsne/tsneTeam.js';
import { InputError } from '../../../lib/errors.js';
import { readEmbedding, writeFeatures } from '../../../lib/io/arrowTensors.js';
import { embeddingColumns, gaussianBlobs, sameBits } from '../../helpers/fixtures.js';
import { bruteForceNeighbors } from '../../helpers/neighbors.js';

const scratch = mkdtempSync(join(tmpdir(), 'sls-tsne-threads-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// 800 points (the exact gradient, 'auto'); 16-D keeps the kNN cheap.
const large = gaussianBlobs(80, 10, 16, 11);
const N = 800;
const D = 16;
let reference: TsneResult | undefined;
async function referenceRun(): Promise<TsneResult> {
  reference ??= await runTsne(large.features, N, D, { seed: 2 });
  return reference;
}

describe('exactNeighbors across threads', () => {
  it('gives the same neighbours with 1 and 2 threads, equal to a brute-force scan (d not a multiple of 4)', async () => {
    const { features } = gaussianBlobs(60, 5, 6, 4);
    const n = 300;
    const one = await exactNeighbors(features, n, 6, 9);
    const team = startTsneTeam(2);
    try {
      const two = await exactNeighbors(features, n, 6, 9, team);
      expect(Array.from(two.indices)).toEqual(Array.from(one.indices));
      expect(sameBits(two.sqDistances, one.sqDistances)).toBe(true);
    } finally {
      await team.close();
    }
    for (const i of [0, 1, 63, 64, 65, 128, 299])
      expect(Array.from(one.indices.subarray(i * 9, i * 9 + 9))).toEqual(bruteForceNeighbors(features, n, 6, 9, i));
  });

  it('stays exact where the kernel’s float32 distances cannot separate the points (falls back to a full scan)', async () => {
    // Two groups 2000 apart per axis with spreads of 0.01: centred norms of about 8e6 against
    // neighbour distances of about 1e-3, so the f32 ranking is noise and every point is rescanned.
    const random = new SeededRandom(9);
    const n = 100;
    const d = 8;
    const features = Float32Array.from({ length: n * d }, (_, t) => (t < (n * d) / 2 ? 1000 : -1000) + 0.01 * random.nextGaussian());
    const { indices } = await exactNeighbors(features, n, d, 5);
    for (let i = 0; i < n; i++) expect(Array.from(indices.subarray(i * 5, i * 5 + 5))).toEqual(bruteForceNeighbors(features, n, d, 5, i));
  });
});

describe('runTsne across threads', () => {
  for (const method of ['exact', 'barnes_hut', 'fft'] as const) {
    it(`is bit-identical with 1 and 2 threads (${method} gradient)`, async () => {
      const one = await runTsne(large.features, N, D, { seed: 2, method, maxIter: 300 });
      const two = await runTsne(large.features, N, D, { seed: 2, method, maxIter: 300, threads: 2 });
      expect(sameBits(two.embedding, one.embedding)).toBe(true);
      expect(two.klDivergence).toBe(one.klDivergence);
      expect(two.iterations).toBe(one.iterations);
    });
  }
});

describe('runTsneOffThread', () => {
  it('gives the in-thread result bit for bit, reports progress, and leaves the event loop free', async () => {
    const progress: number[] = [];
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const offThread = await runTsneOffThread(large.features, N, D, { seed: 2, onProgress: (i) => progress.push(i) });
    clearInterval(ticker);
    const inThread = await referenceRun();
    expect(sameBits(offThread.embedding, inThread.embedding)).toBe(true);
    expect(offThread.klDivergence).toBe(inThread.klDivergence);
    expect(progress).toEqual(Array.from({ length: 20 }, (_, c) => 50 * (c + 1)));
    // A run of about a second or more: a blocked loop would tick a handful of times at most.
    expect(ticks).toBeGreaterThan(20);
  });

  it('passes bad input back as an InputError naming the source', async () => {
    const run = runTsneOffThread(new Float32Array(20), 10, 2, { perplexity: 10, source: 'layer-03.arrow' });
    await expect(run).rejects.toThrow(InputError);
    await expect(runTsneOffThread(new Float32Array(20), 10, 2, { perplexity: 10, source: 'layer-03.arrow' })).rejects.toThrow(
      /^layer-03.arrow: perplexity \(10\)/,
    );
  });
});

describe('resume', () => {
  it('continues bit-identically from a state saved in either stage, or at the boundary between them', async () => {
    const states: TsneState[] = [];
    const uninterrupted = await runTsneOffThread(large.features, N, D, {
      seed: 2,
      checkpointEvery: 50,
      onCheckpoint: (state) => {
        states.push(state);
      },
    });
    expect(sameBits(uninterrupted.embedding, (await referenceRun()).embedding)).toBe(true);
    expect(states.map((s) => s.iteration)).toEqual(Array.from({ length: 20 }, (_, c) => 50 * (c + 1)));
    expect(states.map((s) => s.stage)).toEqual(Array.from({ length: 20 }, (_, c) => (c < 5 ? 0 : 1)));
    for (const iteration of [100, 250, 300]) {
      const state = decodeState(encodeState(states[iteration / 50 - 1]), N)!;
      const resumed = await runTsne(large.features, N, D, { seed: 2, resumeFrom: state, threads: 2 });
      expect(sameBits(resumed.embedding, uninterrupted.embedding)).toBe(true);
      expect(resumed.iterations).toBe(uninterrupted.iterations);
    }
  });

  it('saves and loads state files atomically, and ignores one for another n or a torn one', async () => {
    const state: TsneState = {
      stage: 1,
      iteration: 400,
      bestError: 1.25,
      bestIteration: 349,
      embedding: Float64Array.from([1, 2, 3, 4]),
      update: Float64Array.from([-0.5, 0.5, 0, 1e-300]),
      gains: Float64Array.from([0.01, 1, 1.2, 3]),
    };
    const path = join(scratch, 'state.bin');
    await saveState(path, state);
    expect(readdirSync(scratch).filter((name) => name.startsWith('state.bin'))).toEqual(['state.bin']);
    expect(await loadState(path, 2)).toEqual(state);
    expect(await loadState(path, 3)).toBeUndefined();
    expect(await loadState(join(scratch, 'missing.bin'), 2)).toBeUndefined();
    writeFileSync(path, encodeState(state).subarray(0, 50));
    expect(await loadState(path, 2)).toBeUndefined();
  });

  it('embedFeatureFile resumes from the state file it finds, writes the same embedding, then removes the state', async () => {
    const featuresFile = join(scratch, 'layer.arrow');
    await writeFeatures(featuresFile, { values: large.features, rows: N, dim: D, labels: large.labels });
    const states: TsneState[] = [];
    await runTsneOffThread(large.features, N, D, { seed: 2, onCheckpoint: (s) => void states.push(s) });
    const stateFile = join(scratch, 'emb.arrow.tsne-state');
    await saveState(stateFile, states[2]); // iteration 300
    const out = join(scratch, 'emb.arrow');
    const { resumedAt } = await embedFeatureFile(featuresFile, out, { seed: 2, stateFile });
    expect(resumedAt).toBe(300);
    const { x, y } = await readEmbedding(out);
    const expected = (await referenceRun()).embedding;
    expect(x).toEqual(embeddingColumns(expected).x);
    expect(y).toEqual(embeddingColumns(expected).y);
    expect(readdirSync(scratch)).not.toContain('emb.arrow.tsne-state');
  });
});

describe('pcaInitialization across threads', () => {
  it('gives the same initialisation, bit for bit, with 1 and 2 threads (covariance and Gram matrix)', async () => {
    // d = 150: three blocks of the covariance (six units to share); n = 100 < d: the Gram matrix.
    const { features } = gaussianBlobs(60, 5, 150, 6);
    const one = await pcaInitialization(features, 300, 150, 3);
    const oneGram = await pcaInitialization(features, 100, 150, 3);
    const shared = new Float32Array(new SharedArrayBuffer(features.byteLength));
    shared.set(features);
    const team = startTsneTeam(2);
    try {
      // Blocks go to whichever thread claims them first (the helper may still be starting).
      for (let attempt = 0; attempt < 2; attempt++) {
        expect(sameBits(await pcaInitialization(features, 300, 150, 3, team), one)).toBe(true);
        expect(sameBits(await pcaInitialization(features, 100, 150, 3, team), oneGram)).toBe(true);
      }
      // The helper alone computes the same products (covariance, then Gram) as this thread alone.
      for (const gram of [false, true]) {
        const n = gram ? 100 : 300;
        const m = gram ? n : 150;
        const mean = new Float64Array(150).fill(0.5);
        const job = (products: Float64Array) => ({
          features: shared,
          mean,
          n,
          d: 150,
          gram,
          products,
          counter: new Int32Array(new SharedArrayBuffer(8)),
        });
        const here = new Float64Array(m * m);
        workOnRowProducts(job(here));
        const there = new Float64Array(new SharedArrayBuffer(8 * m * m));
        await Promise.all(team.callEach({ kind: 'rowProducts', ...job(there) }));
        expect(sameBits(there, here)).toBe(true);
      }
    } finally {
      await team.close();
    }
  });
});
