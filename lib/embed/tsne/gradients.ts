/**
 * The names of the gradients a t-SNE run can use, apart from the engine (workflows and the sweep
 * file's schema check them without loading it):
 * - 'exact': O(n^2);
 * - 'barnes_hut': O(n log n), angle 0.5, what scikit-learn's default `TSNE` uses at every n
 *   (the paper's scores come from it);
 * - 'fft': FFT-accelerated interpolation, O(n) plus a grid that grows with the embedding's extent;
 * - 'auto': exact below BARNES_HUT_FROM samples (index.ts), else at each gradient the cheaper of
 *   the two approximations for n and the embedding's extent (gradientChoice.ts).
 * The approximation moves the SLS score: on overlapping classes at 10,000 points Barnes-Hut's
 * late repulsion is about 1% weaker than the exact one, and its score (scikit-learn's with it)
 * about 0.02 higher than the exact gradient's (bench/tsneGradients.ts; README).
 */
export const TSNE_GRADIENTS = ['auto', 'exact', 'barnes_hut', 'fft'] as const;
export type TsneGradient = (typeof TSNE_GRADIENTS)[number];

/**
 * The gradient as artifact keys and workflow IDs hold it: 'auto', which every run made before the
 * choice existed used, is left out, so their keys and IDs stand.
 */
export function keyedGradient(gradient: TsneGradient | undefined): Exclude<TsneGradient, 'auto'> | undefined {
  return gradient === 'auto' ? undefined : gradient;
}

/** Throws a RangeError naming the choices unless `value` is one of TSNE_GRADIENTS. */
export function validateTsneGradient(value: unknown): asserts value is TsneGradient {
  if (!TSNE_GRADIENTS.includes(value as TsneGradient)) {
    throw new RangeError(`the t-SNE gradient must be one of ${TSNE_GRADIENTS.join(', ')}, got ${JSON.stringify(value)}`);
  }
}
