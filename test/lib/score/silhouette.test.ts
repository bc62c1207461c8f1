import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../lib/errors.js';
import { minMaxScale, silhouetteScore, slsScore } from '../../../lib/score/silhouette.js';

interface SilhouetteCase {
  name: string;
  dim: number;
  points: number[];
  labels: number[];
  silhouette: number;
  silhouetteExactDistances: number;
}
interface SilhouetteFixture {
  cases: SilhouetteCase[];
  sls: { x: number[]; y: number[]; labels: number[]; scaled: number[]; sls: number };
}

const fixture: SilhouetteFixture = JSON.parse(readFileSync(new URL('../../fixtures/sklearn/silhouette.json', import.meta.url), 'utf8'));

describe('silhouetteScore', () => {
  for (const c of fixture.cases) {
    it(`equals scikit-learn's silhouette_score: ${c.name}`, () => {
      const score = silhouetteScore(Float64Array.from(c.points), c.dim, Int32Array.from(c.labels));
      expect(Math.abs(score - c.silhouette)).toBeLessThan(1e-9);
      // Against exact distances (scikit-learn's |x|^2 + |y|^2 - 2xy leaves ~1e-8 on duplicates).
      expect(Math.abs(score - c.silhouetteExactDistances)).toBeLessThan(1e-13);
    });
  }

  it('matches a hand-computed case', () => {
    // Class 0 at x = 0 and 1, class 1 at x = 4 and 6 (1-D).
    // Point 0: a = 1, b = (4 + 6) / 2 = 5, s = 0.8.   Point 1: a = 1, b = 4, s = 0.75.
    // Point 4: a = 2, b = (4 + 3) / 2 = 3.5, s = 1.5 / 3.5.   Point 6: a = 2, b = 5.5, s = 3.5 / 5.5.
    const score = silhouetteScore(Float64Array.from([0, 1, 4, 6]), 1, Int32Array.from([0, 0, 1, 1]));
    expect(score).toBeCloseTo((0.8 + 0.75 + 1.5 / 3.5 + 3.5 / 5.5) / 4, 15);
  });

  it('scores a point alone in its class 0', () => {
    // Points 0, 1 in class 5 at distance 1 from each other, point 2 alone in class 9 at x = 3.
    // Point 0: a = 1, b = 3, s = 2/3. Point 1: a = 1, b = 2, s = 1/2. Point 2: 0.
    const score = silhouetteScore(Float64Array.from([0, 1, 3]), 1, Int32Array.from([5, 5, 9]));
    expect(score).toBeCloseTo((2 / 3 + 1 / 2) / 3, 15);
  });

  it('equals the definition on 4,005 1-D points with duplicates, a singleton and a = b = 0', () => {
    // Integer positions: every distance and distance sum is exact, so the definition computed
    // naively below gives each point's coefficient bit for bit; only the final mean's order differs.
    const n = 4_005;
    const points = new Float64Array(n);
    const labels = new Int32Array(n);
    for (let i = 0; i < 4_000; i++) {
      points[i] = i % 997;
      labels[i] = (i * 31) % 5;
    }
    points[4_000] = 5_000; // alone in class 7: scores 0
    labels[4_000] = 7;
    // Classes 8 and 9 all at 6,000: a = b = 0, scored 0.
    points.fill(6_000, 4_001);
    labels.set([8, 8, 9, 9], 4_001);
    const expected = definitionScore(points, labels);
    expect(Math.abs(silhouetteScore(points, 1, labels, 'line') - expected)).toBeLessThan(1e-12);
  });

  it('rejects one class, n classes, and malformed input, naming the source', () => {
    const points = Float64Array.from([0, 0, 1, 1, 2, 2]);
    expect(() => silhouetteScore(points, 2, Int32Array.from([1, 1, 1]), 'layer-3')).toThrow(InputError);
    expect(() => silhouetteScore(points, 2, Int32Array.from([1, 1, 1]), 'layer-3')).toThrow(/layer-3/);
    expect(() => silhouetteScore(points, 2, Int32Array.from([0, 1, 2]), 'layer-3')).toThrow(/distinct labels/);
    expect(() => silhouetteScore(points, 2, Int32Array.from([0, 1]), 'layer-3')).toThrow(InputError);
    expect(() => silhouetteScore(points, 0, Int32Array.from([0, 1, 1]), 'layer-3')).toThrow(InputError);
    const withNaN = Float64Array.from([0, 0, Number.NaN, 1, 2, 2]);
    expect(() => silhouetteScore(withNaN, 2, Int32Array.from([0, 1, 1]), 'layer-3')).toThrow(/NaN/);
  });
});

describe('minMaxScale', () => {
  it('maps each axis to [0, 1] and a constant axis to 0', () => {
    // Axis 0: min -2, max 6 -> (x + 2) / 8. Axis 1: constant 5 -> 0.
    const scaled = minMaxScale(Float64Array.from([-2, 5, 6, 5, 0, 5]), 2);
    expect(Array.from(scaled)).toEqual([0, 0, 1, 0, 0.25, 0]);
  });

  it("equals scikit-learn's MinMaxScaler", () => {
    const { x, y, scaled } = fixture.sls;
    const points = new Float64Array(2 * x.length);
    for (let i = 0; i < x.length; i++) {
      points[2 * i] = x[i];
      points[2 * i + 1] = y[i];
    }
    const ours = minMaxScale(points, 2);
    for (let t = 0; t < ours.length; t++) expect(Math.abs(ours[t] - scaled[t])).toBeLessThan(1e-15);
  });
});

describe('slsScore', () => {
  it("equals scikit-learn's silhouette of the min-max scaled embedding", () => {
    // The unscaled silhouette of this embedding differs from `sls` by about 0.005, so this also
    // checks that the scaling happens.
    const { x, y, labels, sls } = fixture.sls;
    expect(Math.abs(slsScore(x, y, Int32Array.from(labels)) - sls)).toBeLessThan(1e-9);
  });

  it('rejects coordinate arrays that do not match the labels', () => {
    expect(() => slsScore([0, 1], [0, 1, 2], Int32Array.from([0, 1, 1]), 'emb.arrow')).toThrow(/emb.arrow/);
  });
});

/** The silhouette straight from its definition (scikit-learn's docs), 1-D, every pair twice. */
function definitionScore(points: Float64Array, labels: Int32Array): number {
  const n = labels.length;
  const size = new Map<number, number>();
  for (const label of labels) size.set(label, (size.get(label) ?? 0) + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const sums = new Map<number, number>();
    for (let j = 0; j < n; j++) sums.set(labels[j], (sums.get(labels[j]) ?? 0) + Math.abs(points[i] - points[j]));
    const ownSize = size.get(labels[i])!;
    if (ownSize === 1) continue;
    const a = sums.get(labels[i])! / (ownSize - 1);
    let b = Number.POSITIVE_INFINITY;
    for (const [label, sum] of sums) if (label !== labels[i]) b = Math.min(b, sum / size.get(label)!);
    if (Math.max(a, b) > 0) total += (b - a) / Math.max(a, b);
  }
  return total / n;
}
