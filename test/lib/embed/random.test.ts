/** seededSample: distinct points in a random order, by a partial Fisher-Yates shuffle. */
import { describe, expect, it } from 'vitest';
import { SeededRandom, seededSample } from '../../../lib/embed/tsne/random.js';

/** A generator that returns the given uniforms in turn, so that a shuffle can be followed by hand. */
function scripted(uniforms: number[]): SeededRandom {
  let next = 0;
  return { nextFloat: () => uniforms[next++] } as unknown as SeededRandom;
}

describe('seededSample', () => {
  it('follows the partial Fisher-Yates swaps (hand-computed)', () => {
    // n = 4: [0 1 2 3]. Step 0 picks 0 + floor(0.99 * 4) = 3: [3 1 2 0].
    // Step 1 picks 1 + floor(0.7 * 3) = 3: [3 0 2 1]. The sample is the first two.
    expect(Array.from(seededSample(4, 2, scripted([0.99, 0.7])))).toEqual([3, 0]);
    // Step 0 picks floor(0.5 * 4) = 2: [2 1 0 3]; step 1 picks 1 + floor(0 * 3) = 1 (itself).
    expect(Array.from(seededSample(4, 2, scripted([0.5, 0])))).toEqual([2, 1]);
    expect(Array.from(seededSample(4, 0, scripted([])))).toEqual([]);
  });

  it('draws count distinct points of [0, n); all n are a permutation', () => {
    const sample = Array.from(seededSample(1000, 100, new SeededRandom(5)));
    expect(new Set(sample).size).toBe(100);
    expect(sample.every((point) => Number.isInteger(point) && point >= 0 && point < 1000)).toBe(true);
    const all = Array.from(seededSample(50, 50, new SeededRandom(6)));
    expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // A shuffle, not the identity.
    expect(all).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('draws every ordered pair of 5 points about equally often (uniform over seeds)', () => {
    const seeds = 20_000;
    const counts = new Map<string, number>();
    for (let seed = 0; seed < seeds; seed++) {
      const [first, second] = seededSample(5, 2, new SeededRandom(seed));
      counts.set(`${first},${second}`, (counts.get(`${first},${second}`) ?? 0) + 1);
    }
    // 20 ordered pairs, 1000 draws each expected; the standard deviation is about 31.
    expect(counts.size).toBe(20);
    for (const count of counts.values()) expect(Math.abs(count - 1000)).toBeLessThan(160);
  });
});
