/**
 * The FFT-accelerated interpolation gradient: its FFT against the DFT's definition, its grid
 * sizes against hand-worked cases, and its gradient against the exact O(n^2) one.
 */
import { describe, expect, it } from 'vitest';
import { jointProbabilities } from '../../../lib/embed/tsne/affinity.js';
import { exactObjective } from '../../../lib/embed/tsne/exact.js';
import { FftKernel, FftPlan, fftLength } from '../../../lib/embed/tsne/fft.js';
import { gridShape, interpolationObjective, MIN_NODES, NODES_PER_BOX } from '../../../lib/embed/tsne/interpolation.js';
import { exactNeighbors } from '../../../lib/embed/tsne/neighbors.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import { sharedWasmMemory, WASM_DATA_START } from '../../../lib/wasmModules.js';

/** The DFT by its definition, X_k = sum_t x_t exp(-2 pi i t k / L), for one sequence. */
function dft(re: Float64Array, im: Float64Array): { re: Float64Array; im: Float64Array } {
  const length = re.length;
  const out = { re: new Float64Array(length), im: new Float64Array(length) };
  for (let k = 0; k < length; k++) {
    for (let t = 0; t < length; t++) {
      const angle = (-2 * Math.PI * ((t * k) % length)) / length;
      out.re[k] += re[t] * Math.cos(angle) - im[t] * Math.sin(angle);
      out.im[k] += re[t] * Math.sin(angle) + im[t] * Math.cos(angle);
    }
  }
  return out;
}

describe('FftKernel', () => {
  it('equals the DFT for lengths made of 2, 3, 4 and 5, on every sequence of a batch', () => {
    const random = new SeededRandom(4);
    for (const length of [2, 3, 4, 5, 6, 8, 10, 12, 30, 36, 50, 60, 96, 150]) {
      // An odd batch: the kernel's last SIMD lane pair is then a single value.
      const batch = 3;
      const size = length * batch;
      const memory = sharedWasmMemory(8 * (4 * length + 4 * size));
      const view = (start: number, values: number) => new Float64Array(memory.buffer, WASM_DATA_START + 8 * start, values);
      const plan = new FftPlan(length);
      const twiddles = view(0, plan.twiddles.length);
      twiddles.set(plan.twiddles);
      const [re, im, scratchRe, scratchIm] = [0, 1, 2, 3].map((grid) => view(4 * length + grid * size, size));
      for (let t = 0; t < size; t++) {
        re[t] = random.nextGaussian();
        im[t] = random.nextGaussian();
      }
      const columns = Array.from({ length: batch }, (_, b) => {
        const pick = (values: Float64Array) => Float64Array.from({ length }, (_, t) => values[t * batch + b]);
        return dft(pick(re), pick(im));
      });
      const [outRe, outIm] = new FftKernel(memory).transform(plan, twiddles, re, im, batch, scratchRe, scratchIm);
      expect(outRe === re).toBe(!plan.resultInScratch);
      for (let b = 0; b < batch; b++) {
        for (let k = 0; k < length; k++) {
          expect(outRe[k * batch + b]).toBeCloseTo(columns[b].re[k], 10);
          expect(outIm[k * batch + b]).toBeCloseTo(columns[b].im[k], 10);
        }
      }
    }
  });

  it('refuses lengths with other prime factors', () => {
    expect(() => new FftPlan(14)).toThrow(/2\^a 3\^b 5\^c/);
  });
});

describe('grid sizes', () => {
  it('picks the smallest even 2^a 3^b 5^c length', () => {
    expect([1, 299, 300, 389, 401, 433, 481].map(fftLength)).toEqual([2, 300, 300, 400, 432, 450, 486]);
  });

  it('has at least 150 nodes and one box per unit of extent a side, and 2m - 1 <= L', () => {
    expect(NODES_PER_BOX).toBe(4);
    expect(MIN_NODES).toBe(150);
    // 38 boxes of 4 nodes: 2 * 152 - 1 = 303 -> L = 320, which holds floor(321 / 8) = 40 boxes.
    expect(gridShape(10)).toEqual({ boxes: 40, nodes: 160, length: 320 });
    // 74 boxes: 2 * 296 - 1 = 591 -> L = 600, which holds floor(601 / 8) = 75 boxes.
    expect(gridShape(73.5)).toEqual({ boxes: 75, nodes: 300, length: 600 });
  });
});

describe('interpolationObjective', () => {
  const random = new SeededRandom(8);
  const n = 600;
  const d = 5;
  const features = Float32Array.from({ length: n * d }, (_, t) => random.nextGaussian() + 4 * (Math.floor(t / d) % 3));
  const affinitiesPromise = exactNeighbors(features, n, d, 91).then((neighbors) => jointProbabilities(neighbors, n, 30));

  async function compare(scale: number, exaggeration: number): Promise<{ gradientError: number; klError: number }> {
    const affinities = await affinitiesPromise;
    const embedding = Float64Array.from({ length: 2 * n }, () => scale * random.nextGaussian());
    const exact = new Float64Array(2 * n);
    const interpolated = new Float64Array(2 * n);
    const exactKl = exactObjective(affinities).objective(embedding, exact, exaggeration, true);
    const objective = interpolationObjective(affinities);
    const kl = objective.objective(embedding, interpolated, exaggeration, true);
    objective.release();
    let squaredError = 0;
    let squaredNorm = 0;
    for (let t = 0; t < 2 * n; t++) {
      squaredError += (interpolated[t] - exact[t]) ** 2;
      squaredNorm += exact[t] ** 2;
    }
    return { gradientError: Math.sqrt(squaredError / squaredNorm), klError: Math.abs(kl - exactKl) / exactKl };
  }

  it('equals the exact gradient where the boxes are small against the kernel (an early, compact embedding)', async () => {
    // Extent about 4 over 50 boxes: node spacing 0.03.
    const { gradientError, klError } = await compare(0.5, 12);
    expect(gradientError).toBeLessThan(1e-4);
    expect(klError).toBeLessThan(1e-6);
  });

  it('approximates it where boxes are about one unit wide (a spread embedding)', async () => {
    // Extent about 80 over 80 boxes, FIt-SNE's accuracy: about 2% of the gradient, 0.1% of the KL here.
    const { gradientError, klError } = await compare(10, 1);
    expect(gradientError).toBeLessThan(0.05);
    expect(klError).toBeLessThan(0.005);
  });
});
