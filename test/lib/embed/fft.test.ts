/** The FFT's twiddle table bound: the room interpolation.ts reserves for any plan up to a length. */
import { describe, expect, it } from 'vitest';
import { FftPlan, fftLength, twiddleCapacity } from '../../../lib/embed/tsne/fft.js';

describe('twiddleCapacity', () => {
  it('is 4 L', () => {
    expect(twiddleCapacity(2)).toBe(8);
    expect(twiddleCapacity(8)).toBe(32);
    expect(twiddleCapacity(360)).toBe(1440);
  });

  it('holds the twiddles of every plan of that length or less', () => {
    // By hand, L = 8: a radix-4 pass on span 8 (p < 2, k = 1 .. 3: 6 cos/sin pairs, 12 values)
    // and a radix-2 pass on span 2 (p < 1, k = 1: 2 values): 14 <= 32.
    expect(new FftPlan(8).twiddles.length).toBe(14);
    // Every length a plan can have up to 2000 (a capacity holds every shorter plan too).
    const lengths = new Set<number>();
    for (let minimum = 2; minimum <= 2000; minimum++) lengths.add(fftLength(minimum));
    for (const length of lengths) {
      const largest = twiddleCapacity(length);
      for (const shorter of lengths) if (shorter <= length) expect(new FftPlan(shorter).twiddles.length).toBeLessThanOrEqual(largest);
    }
  });
});
