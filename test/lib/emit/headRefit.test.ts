import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { topOneAccuracy } from '../../../lib/emit/accuracy.js';
import { fitLogisticRegression, fitLogisticRegressionOffThread } from '../../../lib/emit/headRefit.js';
import { minimizeLbfgs } from '../../../lib/emit/lbfgs.js';
import { FIXTURES, maxAbsDiff } from '../../helpers/fixtures.js';

interface SklearnFit {
  C: number;
  coef: number[][];
  intercept: number[];
  objective: number;
  train_accuracy: number;
}

/** scikit-learn's LogisticRegression fits (make_refit_fixtures.py). */
const SKLEARN: { small: { x: number[][]; y: number[]; fits: SklearnFit[] } } = JSON.parse(
  readFileSync(join(FIXTURES, 'sklearn/head_refit.json'), 'utf8'),
);

describe('minimizeLbfgs', () => {
  it('finds the minimum of the Rosenbrock function at (1, 1)', async () => {
    const rosenbrock = (x: Float64Array, gradient: Float64Array) => {
      const [a, b] = x;
      gradient[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      gradient[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    };
    const minimum = await minimizeLbfgs(rosenbrock, Float64Array.of(-1.2, 1), { gradientTolerance: 1e-10 });
    expect(minimum.converged).toBe(true);
    expect(maxAbsDiff(minimum.x, [1, 1])).toBeLessThan(1e-6);
    expect(minimum.value).toBeLessThan(1e-12);
  });

  it('solves a quadratic: the minimum of x^T A x / 2 - b^T x is A^-1 b', async () => {
    // A = [[4, 1], [1, 3]], b = [1, 2]: A^-1 b = [1/11, 7/11] by hand.
    const quadratic = (x: Float64Array, gradient: Float64Array) => {
      gradient[0] = 4 * x[0] + x[1] - 1;
      gradient[1] = x[0] + 3 * x[1] - 2;
      return 0.5 * (4 * x[0] * x[0] + 2 * x[0] * x[1] + 3 * x[1] * x[1]) - x[0] - 2 * x[1];
    };
    const reported: number[] = [];
    const minimum = await minimizeLbfgs(quadratic, new Float64Array(2), {
      gradientTolerance: 1e-12,
      onIteration: (iteration) => {
        reported.push(iteration);
      },
    });
    expect(maxAbsDiff(minimum.x, [1 / 11, 7 / 11])).toBeLessThan(1e-10);
    // Every iteration is reported, in order.
    expect(reported).toEqual(Array.from({ length: minimum.iterations }, (_, index) => index + 1));
    expect(reported.length).toBeGreaterThan(1);
    expect(minimum.value).toBeCloseTo(-0.5 * (1 / 11 + 14 / 11), 12);
  });

  it('reports no convergence when the iterations run out', async () => {
    const minimum = await minimizeLbfgs(
      (x, g) => {
        g[0] = 2 * (x[0] - 3);
        return (x[0] - 3) ** 2;
      },
      Float64Array.of(0),
      { maxIterations: 0 },
    );
    expect(minimum).toMatchObject({ iterations: 0, converged: false });
  });
});

describe('fitLogisticRegression', () => {
  const x = Float64Array.from(SKLEARN.small.x.flat());
  const y = Int32Array.from(SKLEARN.small.y);

  for (const reference of SKLEARN.small.fits) {
    it(`matches scikit-learn's multinomial LogisticRegression(C=${reference.C}, lbfgs)`, async () => {
      const fit = await fitLogisticRegression(x, y, 2, { C: reference.C, gradientTolerance: 1e-10 });
      expect(fit.converged).toBe(true);
      expect(Array.from(fit.classes)).toEqual([0, 1, 2]);
      expect(maxAbsDiff(fit.weights, reference.coef.flat())).toBeLessThan(1e-6);
      expect(maxAbsDiff(fit.intercepts, reference.intercept)).toBeLessThan(1e-6);
      expect(fit.objective).toBeCloseTo(reference.objective, 10);
    });
  }

  it("off the calling thread: the same fit, bit for bit, and scikit-learn's; every iteration reported", async () => {
    const reference = SKLEARN.small.fits[0];
    const options = { C: reference.C, gradientTolerance: 1e-10 };
    const inThread = await fitLogisticRegression(x, y, 2, options);
    const iterations: number[] = [];
    const offThread = await fitLogisticRegressionOffThread(x, y, 2, { ...options, onIteration: (iteration) => iterations.push(iteration) });
    expect(offThread).toEqual(inThread);
    expect(Buffer.from(offThread.weights.buffer).equals(Buffer.from(inThread.weights.buffer))).toBe(true);
    expect(maxAbsDiff(offThread.weights, reference.coef.flat())).toBeLessThan(1e-6);
    expect(maxAbsDiff(offThread.intercepts, reference.intercept)).toBeLessThan(1e-6);
    expect(iterations).toEqual(Array.from({ length: offThread.iterations }, (_, index) => index + 1));
    // Its errors come back as what they are.
    const oneClass = fitLogisticRegressionOffThread(Float64Array.of(1, 2), Int32Array.of(4, 4), 1);
    await expect(oneClass).rejects.toBeInstanceOf(RangeError);
    await expect(oneClass).rejects.toThrow(/one class \(4\)/);
  });

  it('gives the rows to the labels present, in ascending order', async () => {
    // Labels 7 and 2 only: row 0 scores label 2, row 1 label 7; the point at 1 is label 7's.
    const fit = await fitLogisticRegression(Float64Array.of(-1, -2, 1, 2), Int32Array.of(2, 2, 7, 7), 1);
    expect(Array.from(fit.classes)).toEqual([2, 7]);
    expect(fit.weights[1]).toBeGreaterThan(fit.weights[0]);
    // Symmetric data: the two rows are opposite and the intercepts zero.
    expect(fit.weights[0]).toBeCloseTo(-fit.weights[1], 8);
    expect(Math.abs(fit.intercepts[0]) + Math.abs(fit.intercepts[1])).toBeLessThan(1e-8);
  });

  it('refuses one class, mismatched sizes and a non-positive C', async () => {
    await expect(fitLogisticRegression(Float64Array.of(1, 2), Int32Array.of(4, 4), 1)).rejects.toThrow(/one class \(4\)/);
    await expect(fitLogisticRegression(Float64Array.of(1, 2, 3), Int32Array.of(0, 1), 2)).rejects.toThrow(
      /3 feature values do not make 2 rows of 2/,
    );
    await expect(fitLogisticRegression(Float64Array.of(1, 2), Int32Array.of(0, 1), 1, { C: 0 })).rejects.toThrow(/C must be positive/);
  });
});

describe('topOneAccuracy', () => {
  it('counts the rows whose highest logit is at the label, the first on ties', () => {
    // Rows' argmax: 1, 0, 2 (tie between 0 and 2 broken to 0 for row 4); labels 1, 1, 2, 0.
    const logits = Float32Array.of(0, 5, 1, 3, 2, 1, -1, -2, 0, 4, 0, 4);
    expect(topOneAccuracy(logits, 3, Int32Array.of(1, 1, 2, 0))).toBe(3 / 4);
    expect(() => topOneAccuracy(logits, 3, Int32Array.of(1))).toThrow(/12 logits do not make 1 rows of 3 classes/);
  });
});
