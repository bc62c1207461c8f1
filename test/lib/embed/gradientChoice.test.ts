/**
 * The choice between Barnes-Hut and the FFT interpolation by extent (gradientChoice.ts): each
 * gradient must be the chosen approximation's own, bit for bit, through switches both ways and
 * with a team of helpers (which must follow each switch instead of hanging).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { jointProbabilities } from '../../../lib/embed/tsne/affinity.js';
import { barnesHutObjective } from '../../../lib/embed/tsne/barnesHut.js';
import type { TeamObjective } from '../../../lib/embed/tsne/gradient.js';
import { cheaperGradient, cheaperObjective, gradientCosts } from '../../../lib/embed/tsne/gradientChoice.js';
import { keyedGradient } from '../../../lib/embed/tsne/gradients.js';
import { embeddingSquare, interpolationObjective } from '../../../lib/embed/tsne/interpolation.js';
import { exactNeighbors } from '../../../lib/embed/tsne/neighbors.js';
import { SeededRandom } from '../../../lib/embed/tsne/random.js';
import { startTsneTeam } from '../../../lib/embed/tsne/tsneTeam.js';

const n = 10_000;
const random = new SeededRandom(11);
const features = Float32Array.from({ length: 2 * n }, () => random.nextGaussian());
/** The embedding at spread `scale`: about 8 * scale wide. */
const embeddingAt = (scale: number) => Float64Array.from(features, (value) => scale * value);
const team = startTsneTeam(2);
afterAll(() => team.close());

describe('keyedGradient', () => {
  it("keys every gradient by its name but 'auto', which keys as no choice at all (as runs made before the choice)", () => {
    expect(keyedGradient('auto')).toBeUndefined();
    expect(keyedGradient(undefined)).toBeUndefined();
    expect(keyedGradient('exact')).toBe('exact');
    expect(keyedGradient('barnes_hut')).toBe('barnes_hut');
    expect(keyedGradient('fft')).toBe('fft');
  });
});

describe('cheaperGradient', () => {
  it('takes the FFT grid while it is small and Barnes-Hut once the extent makes the grid dearer', () => {
    // Barnes-Hut's cost does not depend on the extent; the grid's grows with it.
    expect(gradientCosts(n, 10).barnes_hut).toBe(gradientCosts(n, 1000).barnes_hut);
    expect(gradientCosts(n, 1000).fft).toBeGreaterThan(4 * gradientCosts(n, 10).fft);
    expect(cheaperGradient(n, 10)).toBe('fft');
    expect(cheaperGradient(n, 1000)).toBe('barnes_hut');
    // Few points: no grid is cheap enough; many: even a wide one is.
    expect(cheaperGradient(500, 10)).toBe('barnes_hut');
    expect(cheaperGradient(200_000, 200)).toBe('fft');
  });
});

describe('cheaperObjective', () => {
  it("gives the chosen approximation's gradient bit for bit, switching both ways, with helpers", async () => {
    const affinities = jointProbabilities(await exactNeighbors(features, n, 2, 30), n, 10);
    const narrow = embeddingAt(1);
    const wide = embeddingAt(150);
    expect(cheaperGradient(n, embeddingSquare(narrow).extent)).toBe('fft');
    expect(cheaperGradient(n, embeddingSquare(wide).extent)).toBe('barnes_hut');
    const reference = (make: (p: typeof affinities) => TeamObjective, embedding: Float64Array) => {
      const objective = make(affinities);
      const gradient = new Float64Array(2 * n);
      const kl = objective.objective(embedding, gradient, 4, true);
      objective.release();
      return { gradient, kl };
    };
    const expected = {
      narrow: reference(interpolationObjective, narrow),
      wide: reference(barnesHutObjective, wide),
    };
    const chosen = cheaperObjective(affinities, team);
    for (const [name, embedding] of [
      ['narrow', narrow],
      ['wide', wide],
      ['narrow', narrow],
      ['wide', wide],
    ] as const) {
      const gradient = new Float64Array(2 * n);
      const kl = chosen.objective(embedding, gradient, 4, true);
      expect(Buffer.from(gradient.buffer).equals(Buffer.from(expected[name].gradient.buffer)), name).toBe(true);
      expect(kl).toBe(expected[name].kl);
    }
    chosen.release();
  });
});
