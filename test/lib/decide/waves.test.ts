import { describe, expect, it } from 'vitest';
import { nextWave } from '../../../lib/decide/waves.js';

/** A 12-layer curve scored from the top: `scored` maps layer -> SC, the rest are unscored. */
function curve(scored: Record<number, number>, layers = 12): Array<number | undefined> {
  return Array.from({ length: layers }, (_, i) => scored[i + 1]);
}

describe('nextWave', () => {
  it('starts at the top layer, waveSize layers at once', () => {
    expect(nextWave(curve({}), { alphas: [0.3], waveSize: 2 })).toEqual([12, 11]);
    expect(nextWave(curve({}), { alphas: [0.3], waveSize: 3 })).toEqual([12, 11, 10]);
  });

  it('goes on under the lowest scored layer while the walk has not failed', () => {
    // T = 0.3 * 0.8 = 0.24; SC_11 = 0.5 passes: layers 10 and 9 next.
    expect(nextWave(curve({ 12: 0.8, 11: 0.5 }), { alphas: [0.3], waveSize: 2 })).toEqual([10, 9]);
  });

  it('stops once every alpha is decided', () => {
    // SC_10 = 0.2 < 0.24 decides alpha 0.3; alpha 0.9 (T = 0.72) failed already at layer 11.
    expect(nextWave(curve({ 12: 0.8, 11: 0.5, 10: 0.2, 9: 0.6 }), { alphas: [0.3, 0.9], waveSize: 2 })).toBeNull();
  });

  it('waits for the alpha that still needs lower layers', () => {
    // alpha 0.9 fails at 11; alpha 0.1 (T = 0.08) passes every scored layer: 8 and 7 next.
    expect(nextWave(curve({ 12: 0.8, 11: 0.5, 10: 0.2, 9: 0.6 }), { alphas: [0.1, 0.9], waveSize: 2 })).toEqual([8, 7]);
  });

  it('never goes under layer 1', () => {
    expect(nextWave(curve({ 3: 0.9, 2: 0.8 }, 3), { alphas: [0.3], waveSize: 4 })).toEqual([1]);
  });

  it('scores every layer for the full curve, even after the cut', () => {
    const scores = curve({ 12: 0.8, 11: 0.1, 10: 0.5 });
    expect(nextWave(scores, { alphas: [0.3], waveSize: 2 })).toBeNull();
    expect(nextWave(scores, { alphas: [0.3], waveSize: 2, fullCurve: true })).toEqual([9, 8]);
    expect(nextWave(curve({ 1: 1, 2: 1, 3: 1 }, 3), { alphas: [0.3], waveSize: 2, fullCurve: true })).toBeNull();
  });

  it('refuses a wave size that is not a positive integer', () => {
    expect(() => nextWave(curve({}), { alphas: [0.3], waveSize: 0 })).toThrow(/waveSize/);
    expect(() => nextWave(curve({}), { alphas: [0.3], waveSize: 1.5 })).toThrow(/waveSize/);
  });
});
