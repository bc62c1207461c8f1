import { describe, expect, it } from 'vitest';
import { decideCut, decideCuts, nextLayerNeeded, validateAlpha } from '../../../lib/decide/cutRule.js';

// The reference's worked example: N = 12, alpha 0.3, SC_12 = 0.40, so T = 0.12; SC_9 is the
// first layer from the top under T, so blocks 1..10 are kept.
const WORKED = [0.02, 0.03, 0.05, 0.06, 0.08, 0.09, 0.1, 0.11, 0.115, 0.2, 0.3, 0.4];

describe('decideCut', () => {
  it('keeps 10 blocks on the worked example', () => {
    const decision = decideCut(WORKED, 0.3);
    expect(decision?.threshold).toBeCloseTo(0.12, 12);
    expect(decision?.keptBlocks).toBe(10);
    expect(decision?.failedLayer).toBe(9);
  });

  it('stops at the first failure from the top even when lower layers recover', () => {
    // SC_3 < T = 0.25 but SC_1, SC_2 are above: the walk stops at 3, keeping 4.
    expect(decideCut([0.9, 0.9, 0.1, 0.6, 0.8, 0.5], 0.5)?.keptBlocks).toBe(4);
  });

  it('keeps block 1 when no layer falls under T', () => {
    const decision = decideCut([0.3, 0.35, 0.4, 0.5], 0.3);
    expect(decision?.keptBlocks).toBe(1);
    expect(decision?.failedLayer).toBeNull();
  });

  it('keeps all N blocks with a reason when SC_N <= 0', () => {
    for (const top of [0, -0.2]) {
      const decision = decideCut([0.1, 0.2, top], 0.3);
      expect(decision?.keptBlocks).toBe(3);
      expect(decision?.reason).toMatch(/undefined/);
    }
  });

  it('treats a score equal to T as passing (strictly under fails)', () => {
    // alpha 0.5, SC_3 = 0.5: T = 0.25 exactly.
    expect(decideCut([0.25, 0.25, 0.5], 0.5)?.keptBlocks).toBe(1);
    expect(decideCut([0.125, 0.25, 0.5], 0.5)?.keptBlocks).toBe(2);
    expect(decideCut([0.25, 0.24, 0.5], 0.5)?.keptBlocks).toBe(3);
  });

  it('returns null while the walk needs an unscored layer', () => {
    expect(decideCut([undefined, undefined, 0.35, 0.4], 0.3)).toBeNull();
    expect(decideCut([undefined, undefined, 0.1, 0.4], 0.3)?.keptBlocks).toBe(4);
  });

  it('rejects alphas outside (0, 1]', () => {
    for (const alpha of [0, -0.1, 1.5, Number.NaN]) expect(() => validateAlpha(alpha)).toThrow(/alpha/);
    expect(() => decideCut([0.1, 0.2], 0)).toThrow(/alpha/);
  });
});

describe('decideCuts', () => {
  it('decides several alphas from one curve', () => {
    const decisions = decideCuts(WORKED, [0.3, 0.6, 0.9, 0.01]);
    expect(decisions.map((d) => d.keptBlocks)).toEqual([10, 11, 12, 1]);
    expect(decisions.map((d) => d.threshold)).toEqual([0.3 * 0.4, 0.6 * 0.4, 0.9 * 0.4, 0.01 * 0.4]);
  });
});

describe('nextLayerNeeded', () => {
  const partial = (scored: Record<number, number>, layers: number) => Array.from({ length: layers }, (_, index) => scored[index + 1]);

  it('asks for the top layer first', () => {
    expect(nextLayerNeeded(partial({}, 12), [0.3])).toBe(12);
  });

  it('asks for the next layer down until every alpha is decided', () => {
    expect(nextLayerNeeded(partial({ 12: 0.4, 11: 0.3 }, 12), [0.3])).toBe(10);
    expect(nextLayerNeeded(partial({ 12: 0.4, 11: 0.3, 10: 0.05 }, 12), [0.3])).toBeNull();
    // A larger alpha is decided at 11, a smaller one still needs layer 10.
    expect(nextLayerNeeded(partial({ 12: 0.4, 11: 0.3 }, 12), [0.9, 0.3])).toBe(10);
  });

  it('is done when SC_N <= 0', () => {
    expect(nextLayerNeeded(partial({ 4: -0.1 }, 4), [0.3])).toBeNull();
  });
});
