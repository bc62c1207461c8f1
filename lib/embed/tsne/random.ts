/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded by splitmix32), so that every
 * random choice in t-SNE is reproducible bit for bit from one integer seed.
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Second Box-Muller variate, kept for the next call. */
  private spareGaussian = Number.NaN;

  constructor(seed: number) {
    // splitmix32 spreads any seed (even 0) over the 128-bit state, which must not be all zeros.
    let state = seed >>> 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), with 53 random bits. */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Standard normal variate (Box-Muller). */
  nextGaussian(): number {
    if (!Number.isNaN(this.spareGaussian)) {
      const spare = this.spareGaussian;
      this.spareGaussian = Number.NaN;
      return spare;
    }
    const u = 1 - this.nextFloat(); // in (0, 1], so the logarithm is finite
    const v = this.nextFloat();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareGaussian = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** `count` distinct points of [0, n), in a random order (a partial Fisher-Yates shuffle). */
export function seededSample(n: number, count: number, random: SeededRandom): Int32Array {
  const points = Int32Array.from({ length: n }, (_, i) => i);
  for (let s = 0; s < count; s++) {
    const pick = s + Math.floor(random.nextFloat() * (n - s));
    const point = points[pick];
    points[pick] = points[s];
    points[s] = point;
  }
  return points.subarray(0, count);
}
