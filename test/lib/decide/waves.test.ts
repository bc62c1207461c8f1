import { describe, expect, it } from 'vitest';
import { nextWave, type WavePlan } from '../../../lib/decide/waves.js';

/** A 12-layer curve scored from the top: `scored` maps layer -> SC, the rest are unscored. */
function curve(scored: Record<number, number>, layers = 12): Array<number | undefined> {
  return Array.from({ length: layers }, (_, i) => scored[i + 1]);
}

/** The single-seed waves (R = 1) as layers, the way the paper's walk scores them. */
function layersOf(scores: Array<number | undefined>, plan: WavePlan): number[] | null {
  const wave = nextWave(
    scores.map((score) => [score]),
    plan,
  );
  return wave?.map(({ layer, repeat }) => (repeat === 0 ? layer : Number.NaN)) ?? null;
}

describe('nextWave with one repeat: the single-seed walk', () => {
  it('starts at the top layer, waveSize layers at once', () => {
    expect(layersOf(curve({}), { alphas: [0.3], waveSize: 2 })).toEqual([12, 11]);
    expect(layersOf(curve({}), { alphas: [0.3], waveSize: 3 })).toEqual([12, 11, 10]);
  });

  it('goes on under the lowest scored layer while the walk has not failed', () => {
    // T = 0.3 * 0.8 = 0.24; SC_11 = 0.5 passes: layers 10 and 9 next.
    expect(layersOf(curve({ 12: 0.8, 11: 0.5 }), { alphas: [0.3], waveSize: 2 })).toEqual([10, 9]);
  });

  it('stops once every alpha is decided', () => {
    // SC_10 = 0.2 < 0.24 decides alpha 0.3; alpha 0.9 (T = 0.72) failed already at layer 11.
    expect(layersOf(curve({ 12: 0.8, 11: 0.5, 10: 0.2, 9: 0.6 }), { alphas: [0.3, 0.9], waveSize: 2 })).toBeNull();
  });

  it('waits for the alpha that still needs lower layers', () => {
    // alpha 0.9 fails at 11; alpha 0.1 (T = 0.08) passes every scored layer: 8 and 7 next.
    expect(layersOf(curve({ 12: 0.8, 11: 0.5, 10: 0.2, 9: 0.6 }), { alphas: [0.1, 0.9], waveSize: 2 })).toEqual([8, 7]);
  });

  it('never goes under layer 1', () => {
    expect(layersOf(curve({ 3: 0.9, 2: 0.8 }, 3), { alphas: [0.3], waveSize: 4 })).toEqual([1]);
  });

  it('scores every layer for the full curve, even after the cut', () => {
    const scores = curve({ 12: 0.8, 11: 0.1, 10: 0.5 });
    expect(layersOf(scores, { alphas: [0.3], waveSize: 2 })).toBeNull();
    expect(layersOf(scores, { alphas: [0.3], waveSize: 2, fullCurve: true })).toEqual([9, 8]);
    expect(layersOf(curve({ 1: 1, 2: 1, 3: 1 }, 3), { alphas: [0.3], waveSize: 2, fullCurve: true })).toBeNull();
  });

  it('refuses a wave size that is not a positive integer', () => {
    expect(() => layersOf(curve({}), { alphas: [0.3], waveSize: 0 })).toThrow(/waveSize/);
    expect(() => layersOf(curve({}), { alphas: [0.3], waveSize: 1.5 })).toThrow(/waveSize/);
  });
});

/** A grid of `layers` x 3 repeats: `scored` maps layer -> the three repeats' SC (undefined where unscored). */
function grid(scored: Record<number, Array<number | undefined>>, layers = 4, repeats = 3): Array<Array<number | undefined>> {
  return Array.from({ length: layers }, (_, i) => scored[i + 1] ?? new Array(repeats).fill(undefined));
}

const pairs = (...list: Array<[number, number]>) => list.map(([layer, repeat]) => ({ layer, repeat }));

describe('nextWave under repeats', () => {
  it('starts with every repeat of the top layer', () => {
    expect(nextWave(grid({}), { alphas: [0.3], waveSize: 4 })).toEqual(pairs([4, 0], [4, 1], [4, 2], [3, 0]));
  });

  it('needs every repeat of a layer while the mean curve walks on, though one repeat has failed', () => {
    // T = 0.24 for every repeat. Repeat 1 fails at layer 3 (0.1); the mean there is 0.4: layer 2 next, all repeats.
    const scores = grid({ 4: [0.8, 0.8, 0.8], 3: [0.5, 0.1, 0.6] });
    expect(nextWave(scores, { alphas: [0.3], waveSize: 4 })).toEqual(pairs([2, 0], [2, 1], [2, 2], [1, 0]));
  });

  it('scores only the repeat whose own walk goes on once the mean curve is decided', () => {
    // Mean at layer 3 = 0.7 / 3 = 0.2333 < 0.24: decided (keep 4); repeats 0 and 1 fail there too; repeat 2 (0.5) walks on.
    const scores = grid({ 4: [0.8, 0.8, 0.8], 3: [0.1, 0.1, 0.5] });
    expect(nextWave(scores, { alphas: [0.3], waveSize: 3 })).toEqual(pairs([2, 2], [1, 2]));
    scores[1][2] = 0.05;
    expect(nextWave(scores, { alphas: [0.3], waveSize: 3 })).toBeNull();
  });

  it('scores every pair for the full curve, top layer first', () => {
    const scores = grid({ 4: [0.8, 0.8, 0.8], 3: [0.1, 0.1, 0.5] });
    expect(nextWave(scores, { alphas: [0.3], waveSize: 4, fullCurve: true })).toEqual(pairs([2, 0], [2, 1], [2, 2], [1, 0]));
    expect(nextWave(grid({ 1: [1, 1], 2: [1, 1] }, 2, 2), { alphas: [0.3], waveSize: 4, fullCurve: true })).toBeNull();
  });
});
