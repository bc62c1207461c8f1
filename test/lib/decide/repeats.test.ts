import { describe, expect, it } from 'vitest';
import {
  decideRepeats,
  emptyRepeatScores,
  meanCurve,
  repeatCurve,
  repeatSeed,
  spreadCurve,
  validateRepeats,
} from '../../../lib/decide/repeats.js';

describe('repeatSeed', () => {
  it("is the run's own seed for repeat 0, so one repeat is today's run", () => {
    for (const seed of [0, 1, 7, 123456]) expect(repeatSeed(seed, 0)).toBe(seed);
  });

  it('hashes (seed, repeat) above repeat 0 (values from a Python implementation of the murmur3 finaliser)', () => {
    expect([1, 2, 3, 4].map((repeat) => repeatSeed(0, repeat))).toEqual([2462723854, 1020716019, 454327756, 1275600319]);
    expect([1, 2, 3, 4].map((repeat) => repeatSeed(1, repeat))).toEqual([920564995, 314344336, 697614773, 2041432039]);
    expect([1, 2, 3, 4].map((repeat) => repeatSeed(7, repeat))).toEqual([1478832577, 746935934, 2535364964, 1778835764]);
  });

  it('refuses a repeat that is not a non-negative integer', () => {
    expect(() => repeatSeed(0, -1)).toThrow(/repeat/);
    expect(() => repeatSeed(0, 1.5)).toThrow(/repeat/);
  });
});

describe('validateRepeats', () => {
  it('accepts a positive integer count of repeats', () => {
    for (const repeats of [1, 2, 5, 100]) expect(() => validateRepeats(repeats)).not.toThrow();
  });

  it('refuses zero, negatives, fractions and non-finite counts, naming the value', () => {
    expect(() => validateRepeats(0)).toThrow(new RangeError('repeats must be a positive integer, got 0'));
    expect(() => validateRepeats(-3)).toThrow(new RangeError('repeats must be a positive integer, got -3'));
    expect(() => validateRepeats(2.5)).toThrow(new RangeError('repeats must be a positive integer, got 2.5'));
    expect(() => validateRepeats(Number.NaN)).toThrow(RangeError);
    expect(() => validateRepeats(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('the curves over repeats', () => {
  const scores = [
    [0.1, 0.2, 0.6],
    [0.5, undefined, 0.5],
    [0.3, 0.3, 0.3],
  ];

  it('means and spreads (sample standard deviation) only layers scored under every repeat', () => {
    const mean = meanCurve(scores);
    expect(mean[0]).toBeCloseTo(0.3, 15);
    expect(mean[1]).toBeUndefined();
    expect(mean[2]).toBeCloseTo(0.3, 15);
    const spread = spreadCurve(scores);
    // Deviations -0.2, -0.1, 0.3: sqrt(0.14 / 2).
    expect(spread[0]).toBeCloseTo(Math.sqrt(0.07), 12);
    expect(spread[1]).toBeNull();
    expect(spread[2]).toBeCloseTo(0, 15);
  });

  it('has no spread with one repeat', () => {
    expect(spreadCurve([[0.4], [0.2]])).toEqual([null, null]);
  });

  it("reads one repeat's curve", () => {
    expect(repeatCurve(scores, 1)).toEqual([0.2, undefined, 0.3]);
  });

  it('starts unscored and refuses a repeat count under 1', () => {
    expect(emptyRepeatScores(2, 3)).toEqual([
      [undefined, undefined, undefined],
      [undefined, undefined, undefined],
    ]);
    expect(() => emptyRepeatScores(2, 0)).toThrow(/repeats/);
  });
});

describe('decideRepeats', () => {
  it('decides on the mean curve and flags unstable a curve built to flip', () => {
    // Layer 4 = 0.8 everywhere: T = 0.24 for the mean and for each repeat. Layer 3: 0.1, 0.1, 0.5 (mean 0.2333 < 0.24):
    // the mean and repeats 0 and 1 keep 4 blocks; repeat 2 passes and fails at layer 2 (0.05): it keeps 3.
    const scores = [
      [undefined, undefined, undefined],
      [0.3, 0.3, 0.05],
      [0.1, 0.1, 0.5],
      [0.8, 0.8, 0.8],
    ];
    const { decisions, cuts, stable } = decideRepeats(scores, [0.3]);
    expect(decisions[0].keptBlocks).toBe(4);
    expect(decisions[0].failedLayer).toBe(3);
    expect(decisions[0].threshold).toBeCloseTo(0.24, 15);
    expect(cuts).toEqual([{ alpha: 0.3, keptBlocks: [4, 4, 3], distribution: { 4: 2, 3: 1 }, stable: false }]);
    expect(stable).toBe(false);
  });

  it('is stable where every repeat keeps what the mean curve keeps, alpha by alpha', () => {
    // Alpha 0.3 (T = 0.24): every curve fails at layer 2, keeps 3. Alpha 0.9 (T = 0.72): all fail at layer 3, keep 4.
    const scores = [
      [0.9, 0.9, 0.9],
      [0.1, 0.2, 0.15],
      [0.5, 0.6, 0.4],
      [0.8, 0.8, 0.8],
    ];
    const { decisions, cuts, stable } = decideRepeats(scores, [0.3, 0.9]);
    expect(decisions.map((decision) => decision.keptBlocks)).toEqual([3, 4]);
    expect(cuts.map((cut) => cut.keptBlocks)).toEqual([
      [3, 3, 3],
      [4, 4, 4],
    ]);
    expect(cuts.map((cut) => cut.distribution)).toEqual([{ 3: 3 }, { 4: 3 }]);
    expect(stable).toBe(true);
  });

  it('is the single-seed decision with one repeat', () => {
    const { decisions, cuts, stable } = decideRepeats([[0.9], [0.1], [0.5], [0.8]], [0.3]);
    expect(decisions[0]).toMatchObject({ keptBlocks: 3, failedLayer: 2 });
    expect(cuts[0].keptBlocks).toEqual([3]);
    expect(stable).toBe(true);
  });

  it('refuses a grid whose walks reach an unscored layer', () => {
    expect(() => decideRepeats([[undefined], [0.5], [0.8]], [0.3])).toThrow(/not scored/);
  });
});
