/**
 * The pieces every t-SNE gradient shares (gradient.ts, attraction.ts), how a helper serves each
 * request (tsneTeam.ts) and which gradient each method name gives (index.ts), against
 * hand-computed cases and a plain O(n^2) reference gradient written here.
 */
import { describe, expect, it } from 'vitest';
import type { SparseAffinities } from '../../../lib/embed/tsne/affinity.js';
import { AttractionKernel, sharedAttraction } from '../../../lib/embed/tsne/attraction.js';
import { barnesHutObjective, GRADIENT_CHUNKS, type SharedGradient } from '../../../lib/embed/tsne/barnesHut.js';
import type { Cells } from '../../../lib/embed/tsne/cellPartition.js';
import { ExactShare, type SharedExact } from '../../../lib/embed/tsne/exact.js';
import { chunkStart, type LockstepGradient, lockstepObjective, type TeamObjective } from '../../../lib/embed/tsne/gradient.js';
import { cheaperGradient } from '../../../lib/embed/tsne/gradientChoice.js';
import type { TsneGradient } from '../../../lib/embed/tsne/gradients.js';
import { BARNES_HUT_FROM, gradientObjective } from '../../../lib/embed/tsne/index.js';
import { embeddingSquare, interpolationObjective } from '../../../lib/embed/tsne/interpolation.js';
import type { ClaimedCandidates } from '../../../lib/embed/tsne/knnKernel.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import { lockstepControl, sharedFloat64, startLockstep, type ThreadTeam } from '../../../lib/embed/tsne/team.js';
import { serveTsneRequest, startTsneTeam, type TsneRequest } from '../../../lib/embed/tsne/tsneTeam.js';
import { sharedWasmMemory } from '../../../lib/wasmModules.js';
import { relativeError, sameBits } from '../../helpers/fixtures.js';
import { bruteForceNeighbors, bruteForceScan, cellSearchOf } from '../../helpers/neighbors.js';

/**
 * A random symmetric P: each point tied to its next `reach` points around a ring (weights
 * uniform in [0.1, 1.1)), normalised to sum 1, columns ascending in each row. `padding` unused
 * entries after the stored ones (as a buffer with spare capacity has).
 */
function ringAffinities(n: number, reach: number, seed: number, padding = 0): SparseAffinities {
  const random = new SeededRandom(seed);
  const rows = Array.from({ length: n }, () => new Map<number, number>());
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let step = 1; step <= reach; step++) {
      const j = (i + step) % n;
      const weight = 0.1 + random.nextFloat();
      rows[i].set(j, weight);
      rows[j].set(i, weight);
      total += 2 * weight;
    }
  }
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const [j, weight] of [...rows[i]].sort((a, b) => a[0] - b[0])) {
      indices.push(j);
      values.push(weight / total);
    }
    indptr[i + 1] = indices.length;
  }
  for (let t = 0; t < padding; t++) {
    indices.push(n + 99);
    values.push(Number.NaN);
  }
  return { n, indptr, indices: Int32Array.from(indices), values: Float64Array.from(values) };
}

function gaussianEmbedding(n: number, spread: number, seed: number): Float64Array {
  const random = new SeededRandom(seed);
  return Float64Array.from({ length: 2 * n }, () => spread * random.nextGaussian());
}

/** P as a dense n x n matrix. */
function densify(affinities: SparseAffinities): Float64Array {
  const { n, indptr, indices, values } = affinities;
  const dense = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let t = indptr[i]; t < indptr[i + 1]; t++) dense[i * n + indices[t]] = values[t];
  return dense;
}

/**
 * The t-SNE gradient and KL(exaggeration P || Q) the plainest way, over every pair:
 * dC/dy_i = 4 sum_j (e p_ij - w_ij / Z) w_ij (y_i - y_j), Z = sum_{k != l} w_kl; and the pieces
 * (repulsion sum_j w_ij^2 (y_i - y_j), Z, attraction sum_j e p_ij w_ij (y_i - y_j)).
 */
function referenceGradient(affinities: SparseAffinities, y: Float64Array, exaggeration: number) {
  const { n } = affinities;
  const p = densify(affinities);
  const w = new Float64Array(n * n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      w[i * n + j] = 1 / (1 + (y[2 * i] - y[2 * j]) ** 2 + (y[2 * i + 1] - y[2 * j + 1]) ** 2);
      z += w[i * n + j];
    }
  }
  const gradient = new Float64Array(2 * n);
  const repulsion = new Float64Array(2 * n);
  const attraction = new Float64Array(2 * n);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const wij = w[i * n + j];
      const pij = exaggeration * p[i * n + j];
      for (let c = 0; c < 2; c++) {
        const difference = y[2 * i + c] - y[2 * j + c];
        gradient[2 * i + c] += 4 * (pij - wij / z) * wij * difference;
        repulsion[2 * i + c] += wij * wij * difference;
        attraction[2 * i + c] += pij * wij * difference;
      }
      if (pij > 0) kl += pij * Math.log(pij / (wij / z));
    }
  }
  return { gradient, repulsion, attraction, z, kl };
}

/** One gradient of `objective` (which is then released) and its KL. */
function evaluate(objective: TeamObjective, embedding: Float64Array, exaggeration: number): { gradient: Float64Array; kl: number } {
  const gradient = new Float64Array(embedding.length);
  try {
    const kl = objective.objective(embedding, gradient, exaggeration, true);
    return { gradient, kl };
  } finally {
    objective.release();
  }
}

describe('chunkStart', () => {
  it('cuts n points into contiguous chunks of floor(chunk n / chunks), covering every point once', () => {
    // n = 10, 4 chunks: floor(0), floor(2.5), floor(5), floor(7.5), floor(10).
    expect([0, 1, 2, 3, 4].map((chunk) => chunkStart(chunk, 10, 4))).toEqual([0, 2, 5, 7, 10]);
    // Fewer points than chunks: floor(3 k / 8) for k = 0..8, some chunks empty.
    expect(Array.from({ length: 9 }, (_, chunk) => chunkStart(chunk, 3, 8))).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 3]);
    // Every point in exactly one chunk, sizes within one of each other.
    const n = 1001;
    const chunks = 32;
    const owners = new Int32Array(n);
    const sizes: number[] = [];
    for (let chunk = 0; chunk < chunks; chunk++) {
      for (let i = chunkStart(chunk, n, chunks); i < chunkStart(chunk + 1, n, chunks); i++) owners[i]++;
      sizes.push(chunkStart(chunk + 1, n, chunks) - chunkStart(chunk, n, chunks));
    }
    expect(owners.every((count) => count === 1)).toBe(true);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });
});

describe('lockstepObjective', () => {
  // Points (0,0), (1,0), (0,2); P: p01 = p10 = 0.3, p02 = p20 = 0.2 (p12 not stored).
  const affinities: SparseAffinities = {
    n: 3,
    indptr: Int32Array.from([0, 2, 3, 4]),
    indices: Int32Array.from([1, 2, 0, 0]),
    values: Float64Array.from([0.3, 0.2, 0.3, 0.2]),
  };
  const embedding = Float64Array.from([0, 0, 1, 0, 0, 2]);
  /** A stand-in for the rounds: records its calls and writes the given pieces when computing. */
  function fakeRounds(pieces: { repulsion: number[]; attraction: number[]; zParts: number[] }) {
    const calls: Array<{ embedding: Float64Array; exaggeration: number }> = [];
    let releases = 0;
    const gradient: LockstepGradient = {
      repulsion: new Float64Array(6),
      attraction: new Float64Array(6),
      zParts: new Float64Array(pieces.zParts.length),
      compute(at, exaggeration) {
        calls.push({ embedding: at, exaggeration });
        gradient.repulsion.set(pieces.repulsion);
        gradient.attraction.set(pieces.attraction);
        gradient.zParts.set(pieces.zParts);
      },
      release: () => releases++,
    };
    return { gradient, calls, releases: () => releases };
  }

  it('assembles -4 repulsion / Z + 4 attraction, Z the sum of the chunk shares, and the exaggerated KL', () => {
    const pieces = { repulsion: [1, 2, 3, 4, 5, 6], attraction: [0.5, -0.5, 0.25, 0, -1, 2], zParts: [1.5, 0.25] };
    const rounds = fakeRounds(pieces);
    const { objective, release } = lockstepObjective(affinities, rounds.gradient);
    const out = new Float64Array(6);
    const kl = objective(embedding, out, 2, true);
    expect(rounds.calls).toEqual([{ embedding, exaggeration: 2 }]);
    // Z = 1.5 + 0.25 = 1.75: out = -4 r / 1.75 + 4 a, e.g. -4/1.75 + 2 = -0.2857..., -8/1.75 - 2 = -6.5714...
    const expected = [-4 / 1.75 + 2, -8 / 1.75 - 2, -12 / 1.75 + 1, -16 / 1.75, -20 / 1.75 - 4, -24 / 1.75 + 8];
    for (let t = 0; t < 6; t++) expect(out[t]).toBeCloseTo(expected[t], 14);
    // Exaggeration 2: p = 0.6 (w01 = 1/2) twice, 0.4 (w02 = 1/5) twice;
    // KL = 2 (0.6 ln(0.6 / (0.5 / 1.75)) + 0.4 ln(0.4 / (0.2 / 1.75))) = 2 (0.6 ln 2.1 + 0.4 ln 3.5).
    expect(kl).toBeCloseTo(2 * (0.6 * Math.log(2.1) + 0.4 * Math.log(3.5)), 14);
    // Without the error: NaN, the gradient all the same.
    out.fill(0);
    expect(objective(embedding, out, 2, false)).toBeNaN();
    expect(out[0]).toBeCloseTo(expected[0], 14);
    expect(rounds.releases()).toBe(0);
    release();
    expect(rounds.releases()).toBe(1);
  });

  it('floors Z at machine epsilon, as scikit-learn does', () => {
    // Z = 0: repulsion eps gives -4 eps / eps = -4, plus 4 * 0.5.
    const rounds = fakeRounds({ repulsion: [Number.EPSILON, 0, 0, 0, 0, 0], attraction: [0.5, 0, 0, 0, 0, 0], zParts: [0, 0] });
    const out = new Float64Array(6);
    lockstepObjective(affinities, rounds.gradient).objective(embedding, out, 1, false);
    expect(out[0]).toBeCloseTo(-2, 14);
    expect(Array.from(out.subarray(1))).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('sharedAttraction', () => {
  it('holds P in one shared memory: kernels of two members each compute their rows of the exact attraction', () => {
    const n = 7;
    // Spare entries after the stored ones must not be copied (they would be read as P).
    const affinities = ringAffinities(n, 2, 5, 3);
    const embedding = gaussianEmbedding(n, 2, 6);
    const shared = sharedAttraction(affinities);
    expect(shared.n).toBe(n);
    expect(shared.nonzeros).toBe(affinities.indptr[n]);
    expect(shared.nonzeros).toBe(affinities.indices.length - 3);
    expect(shared.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const first = new AttractionKernel(shared);
    const second = new AttractionKernel(shared);
    // One member places the embedding; both read it, each writes its own rows.
    first.place(embedding);
    first.rows(0, 3, 3);
    second.rows(3, n, 3);
    // Exaggeration 3: sum_j 3 p_ij w_ij (y_i - y_j), over the stored entries of row i.
    const expected = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      for (let t = affinities.indptr[i]; t < affinities.indptr[i + 1]; t++) {
        const j = affinities.indices[t];
        const dx = embedding[2 * i] - embedding[2 * j];
        const dy = embedding[2 * i + 1] - embedding[2 * j + 1];
        const w = 1 / (1 + dx * dx + dy * dy);
        expected[2 * i] += 3 * affinities.values[t] * w * dx;
        expected[2 * i + 1] += 3 * affinities.values[t] * w * dy;
      }
    }
    for (const kernel of [first, second]) for (let t = 0; t < 2 * n; t++) expect(kernel.attraction[t]).toBeCloseTo(expected[t], 15);
    expect(relativeError(second.attraction, expected)).toBeLessThan(1e-14);
  });
});

describe('serveTsneRequest', () => {
  it("computes a 'rowProducts' request's products: the plain float64 covariance and Gram matrices", () => {
    const random = new SeededRandom(8);
    for (const { n, d, gram } of [
      { n: 70, d: 5, gram: false },
      { n: 9, d: 70, gram: true },
    ]) {
      const features = Float32Array.from({ length: n * d }, () => 2 + random.nextGaussian());
      const mean = new Float64Array(d);
      for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a] += features[i * d + a] / n;
      const m = gram ? n : d;
      const products = new Float64Array(m * m);
      const counter = new Int32Array(new SharedArrayBuffer(8));
      const { reply, transfer } = serveTsneRequest({ kind: 'rowProducts', features, mean, n, d, gram, products, counter });
      expect(reply).toBeNull();
      expect(transfer).toBeUndefined();
      const centred = (i: number, a: number) => features[i * d + a] - mean[a];
      for (let r = 0; r < m; r++) {
        for (let c = 0; c < m; c++) {
          let dot = 0;
          if (gram) for (let a = 0; a < d; a++) dot += centred(r, a) * centred(c, a);
          else for (let i = 0; i < n; i++) dot += centred(i, r) * centred(i, c);
          expect(products[r * m + c]).toBeCloseTo(dot, 10);
        }
      }
    }
  });

  it("answers a 'candidates' request with each point's nearest, their buffers moved, and nothing once all pairs are claimed", () => {
    const n = 40;
    const d = 3;
    const capacity = 5;
    const random = new SeededRandom(12);
    const features = Float32Array.from({ length: n * d }, () => random.nextGaussian());
    const next = new Int32Array(new SharedArrayBuffer(4));
    const { reply, transfer } = serveTsneRequest({ kind: 'candidates', features, n, d, capacity, next });
    const { candidates, pairsSearched } = reply as ClaimedCandidates;
    // 40 points are one tile: one tile pair.
    expect(pairsSearched).toBe(1);
    expect(transfer).toEqual([candidates.distance.buffer, candidates.index.buffer, candidates.size.buffer]);
    expect(transfer![0]).toBe(candidates.distance.buffer);
    for (let i = 0; i < n; i++) {
      expect(candidates.size[i]).toBe(capacity);
      const kept = Array.from(candidates.index.subarray(i * capacity, (i + 1) * capacity));
      expect([...kept].sort((a, b) => a - b)).toEqual(bruteForceNeighbors(features, n, d, capacity, i).sort((a, b) => a - b));
      const distances = new Map(bruteForceScan(features, n, d, i).map(({ j, distance }) => [j, distance]));
      for (let slot = 0; slot < capacity; slot++)
        expect(candidates.distance[i * capacity + slot]).toBeCloseTo(distances.get(kept[slot])!, 5);
    }
    // A helper asked after the last pair was claimed searches nothing.
    const late = serveTsneRequest({ kind: 'candidates', features, n, d, capacity, next }).reply as ClaimedCandidates;
    expect(late.pairsSearched).toBe(0);
  });

  it("searches a 'cells' request's cells: with one cell that every point probes, the exact k nearest", () => {
    const n = 30;
    const d = 3;
    const k = 4;
    const random = new SeededRandom(13);
    const features = Float32Array.from({ length: n * d }, () => random.nextGaussian());
    // Cell order reversed: position p holds point n - 1 - p.
    const order = Int32Array.from({ length: n }, (_, p) => n - 1 - p);
    const cells: Cells = {
      order,
      cellStart: Int32Array.from([0, n]),
      probes: new Int32Array(n),
      probeStart: Int32Array.from({ length: n + 1 }, (_, p) => p),
    };
    const search = cellSearchOf(features, n, d, k, cells);
    expect(serveTsneRequest({ kind: 'cells', search }).reply).toBeNull();
    expect(Atomics.load(search.counter, 1)).toBe(1);
    for (let i = 0; i < n; i++) {
      const scan = bruteForceScan(features, n, d, i).slice(0, k);
      expect(Array.from(search.indices.subarray(i * k, (i + 1) * k))).toEqual(scan.map((entry) => entry.j));
      for (let rank = 0; rank < k; rank++) expect(search.sqDistances[i * k + rank]).toBeCloseTo(scan[rank].distance, 12);
    }
  });

  describe('in a real helper', () => {
    const n = 201;
    const affinities = ringAffinities(n, 3, 21);
    const embedding = gaussianEmbedding(n, 3, 22);
    const reference = referenceGradient(affinities, embedding, 4);

    /** Starts the helper serving `request`'s rounds and has it do every unit of one round (the coordinator claims none). */
    function helperRound(team: ThreadTeam<TsneRequest>, request: TsneRequest & { shared: { control: Int32Array } }, units: number): void {
      const lockstep = startLockstep(team, request, request.shared.control);
      try {
        lockstep.round(units, () => undefined);
      } finally {
        lockstep.stop();
      }
    }

    it("serves an 'exact' request's rounds: the exact repulsion, Z and attraction", async () => {
      const team = startTsneTeam(2);
      try {
        const shared: SharedExact = {
          // Room for the kernel's x and y (padded to even), repulsion (n x 2) and per-row Z.
          memory: sharedWasmMemory(8 * 5 * (n + 1)),
          attraction: sharedAttraction(affinities),
          zParts: sharedFloat64(32),
          parameters: sharedFloat64(1),
          control: lockstepControl(),
        };
        const coordinator = new ExactShare(affinities, shared);
        coordinator.place(embedding);
        shared.parameters[0] = 4;
        // exact.ts cuts the rows into 32 chunks (ROW_CHUNKS).
        helperRound(team, { kind: 'exact', affinities, shared }, 32);
        expect(relativeError(coordinator.repulsion, reference.repulsion)).toBeLessThan(1e-13);
        expect(shared.zParts.reduce((sum, z) => sum + z, 0)).toBeCloseTo(reference.z, 9);
        expect(relativeError(coordinator.attraction.attraction, reference.attraction)).toBeLessThan(1e-13);
      } finally {
        await team.close();
      }
    });

    it("serves a 'barnesHut' request's rounds at the request's angle: near 0 the exact repulsion, at 0.5 within 2%", async () => {
      const team = startTsneTeam(2);
      try {
        const errors: number[] = [];
        for (const angle of [1e-6, 0.5]) {
          const shared: SharedGradient = {
            repulsion: sharedFloat64(2 * n),
            attraction: sharedAttraction(affinities),
            zParts: sharedFloat64(GRADIENT_CHUNKS),
            parameters: sharedFloat64(1),
            control: lockstepControl(),
          };
          const coordinator = new AttractionKernel(shared.attraction);
          coordinator.place(embedding);
          shared.parameters[0] = 4;
          helperRound(team, { kind: 'barnesHut', affinities, shared, angle }, GRADIENT_CHUNKS);
          errors.push(relativeError(shared.repulsion, reference.repulsion));
          expect(relativeError(coordinator.attraction, reference.attraction)).toBeLessThan(1e-13);
          expect(shared.zParts.reduce((sum, z) => sum + z, 0) / reference.z).toBeCloseTo(1, angle < 0.1 ? 9 : 1);
        }
        expect(errors[0]).toBeLessThan(1e-9);
        expect(errors[1]).toBeGreaterThan(1e-6);
        expect(errors[1]).toBeLessThan(0.02);
      } finally {
        await team.close();
      }
    });

    it("serves an 'interpolation' request's rounds: the team's gradients are the calling thread's, bit for bit", async () => {
      const alone = evaluate(interpolationObjective(affinities), embedding, 4);
      expect(relativeError(alone.gradient, reference.gradient)).toBeLessThan(0.02);
      const team = startTsneTeam(2);
      try {
        // A first request answered: the helper is up, and takes part in every round from the first.
        const products = new Float64Array(new SharedArrayBuffer(8));
        const features = new Float32Array(new SharedArrayBuffer(4));
        const counter = new Int32Array(new SharedArrayBuffer(8));
        await Promise.all(
          team.callEach({ kind: 'rowProducts', features, mean: new Float64Array(1), n: 1, d: 1, gram: false, products, counter }),
        );
        const objective = interpolationObjective(affinities, team);
        try {
          for (let gradient = 0; gradient < 3; gradient++) {
            const out = new Float64Array(2 * n);
            const kl = objective.objective(embedding, out, 4, true);
            expect(sameBits(out, alone.gradient)).toBe(true);
            expect(kl).toBe(alone.kl);
            // Time for a helper that failed on the request to be seen by the next gradient.
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        } finally {
          objective.release();
        }
      } finally {
        await team.close();
      }
    });
  });
});

describe('gradientObjective', () => {
  const exaggeration = 4;
  const small = { affinities: ringAffinities(300, 3, 31), embedding: gaussianEmbedding(300, 5, 32) };
  const smallReference = referenceGradient(small.affinities, small.embedding, exaggeration);

  /** BARNES_HUT_FROM points, where 'auto' turns to an approximation. */
  const at = { affinities: ringAffinities(BARNES_HUT_FROM, 3, 35), embedding: gaussianEmbedding(BARNES_HUT_FROM, 5, 36) };

  it("gives the exact gradient and KL for 'exact', with or without helpers, and from BARNES_HUT_FROM points too", async () => {
    const alone = evaluate(gradientObjective('exact', small.affinities, undefined), small.embedding, exaggeration);
    expect(relativeError(alone.gradient, smallReference.gradient)).toBeLessThan(1e-12);
    expect(alone.kl).toBeCloseTo(smallReference.kl, 10);
    const large = evaluate(gradientObjective('exact', at.affinities, undefined), at.embedding, exaggeration);
    expect(relativeError(large.gradient, referenceGradient(at.affinities, at.embedding, exaggeration).gradient)).toBeLessThan(1e-12);
    const team = startTsneTeam(2);
    try {
      const shared = evaluate(gradientObjective('exact', small.affinities, team), small.embedding, exaggeration);
      expect(relativeError(shared.gradient, smallReference.gradient)).toBeLessThan(1e-12);
    } finally {
      await team.close();
    }
  });

  it("gives the exact gradient for 'auto' below BARNES_HUT_FROM points (300 and BARNES_HUT_FROM - 1)", () => {
    expect(BARNES_HUT_FROM).toBe(2000);
    const below = { affinities: ringAffinities(BARNES_HUT_FROM - 1, 3, 33), embedding: gaussianEmbedding(BARNES_HUT_FROM - 1, 5, 34) };
    for (const { affinities, embedding } of [small, below]) {
      const reference = referenceGradient(affinities, embedding, exaggeration);
      const auto = evaluate(gradientObjective('auto', affinities, undefined), embedding, exaggeration);
      expect(relativeError(auto.gradient, reference.gradient)).toBeLessThan(1e-12);
      expect(auto.kl).toBeCloseTo(reference.kl, 9);
    }
  });

  /** Checks that `method`'s gradient is an approximation of the reference, and the one `named` gives. */
  function expectApproximation(
    method: TsneGradient,
    named: (affinities: SparseAffinities) => TeamObjective,
    { affinities, embedding }: { affinities: SparseAffinities; embedding: Float64Array },
  ): void {
    const reference = referenceGradient(affinities, embedding, exaggeration);
    const ours = evaluate(gradientObjective(method, affinities, undefined), embedding, exaggeration);
    const error = relativeError(ours.gradient, reference.gradient);
    // Not the exact gradient (whose error is about 1e-15), but close to it.
    expect(error).toBeGreaterThan(1e-9);
    expect(error).toBeLessThan(0.01);
    expect(Math.abs(ours.kl - reference.kl) / reference.kl).toBeLessThan(0.005);
    // Bit for bit the approximation the name names.
    expect(sameBits(ours.gradient, evaluate(named(affinities), embedding, exaggeration).gradient)).toBe(true);
  }

  it("gives the Barnes-Hut gradient for 'barnes_hut' and the FFT interpolation's for 'fft'", () => {
    expectApproximation('barnes_hut', (affinities) => barnesHutObjective(affinities), small);
    expectApproximation('fft', (affinities) => interpolationObjective(affinities), small);
  });

  it("gives an approximation for 'auto' from BARNES_HUT_FROM points: the one the cost model picks", () => {
    // At 2000 points no grid is cheaper than Barnes-Hut.
    expect(cheaperGradient(BARNES_HUT_FROM, embeddingSquare(at.embedding).extent)).toBe('barnes_hut');
    expectApproximation('auto', (affinities) => barnesHutObjective(affinities), at);
  });
});
