/**
 * The data shapes of bench/tsne.ts and bench/tsneProfile.ts (float32 rows with labels: 768-D
 * synthetic ones, and real CLS features of 64 or 768), each a kind of input t-SNE meets in the
 * pipeline or that stresses one of its parts.
 */
import { jointProbabilities, type SparseAffinities } from '../lib/embed/tsne/affinity.js';
import { DEFAULT_PERPLEXITY } from '../lib/embed/tsne/index.js';
import { exactNeighbors } from '../lib/embed/tsne/neighbors.js';
import { SeededRandom } from '../lib/embed/tsne/random.js';
import { type RealModel, realFeatures } from './tsneFeatures.js';

const DIMENSION = 768;

export interface Labelled {
  features: Float32Array;
  labels: Int32Array;
  /** Values a row. */
  d: number;
}

/** (a) Ten equal isotropic Gaussian classes, about as separated as a high ViT block's CLS features. */
function clustered(n: number, random: SeededRandom): Labelled {
  const classes = 10;
  const centres = Float64Array.from({ length: classes * DIMENSION }, () => 0.15 * random.nextGaussian());
  const features = new Float32Array(n * DIMENSION);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes;
    for (let a = 0; a < DIMENSION; a++) features[i * DIMENSION + a] = centres[labels[i] * DIMENSION + a] + 0.1 * random.nextGaussian();
  }
  return { features, labels, d: DIMENSION };
}

/**
 * (b) Seven classes of unequal sizes (35% down to 4%), each with its own spread per axis (log-normal
 * scales), noise larger than the distance between the centres, and classes 5 and 6 nearly on top
 * of each other: a low ViT block on a hard dataset.
 */
function overlapping(n: number, random: SeededRandom): Labelled {
  const shares = [0.35, 0.2, 0.14, 0.1, 0.09, 0.08, 0.04];
  const centres = Float64Array.from({ length: shares.length * DIMENSION }, () => 0.05 * random.nextGaussian());
  for (let a = 0; a < DIMENSION; a++) centres[6 * DIMENSION + a] = centres[5 * DIMENSION + a] + 0.005 * random.nextGaussian();
  const scales = Float64Array.from({ length: shares.length * DIMENSION }, () => 0.1 * Math.exp(0.7 * random.nextGaussian()));
  const bounds = shares.map((_, c) => shares.slice(0, c + 1).reduce((sum, s) => sum + s, 0));
  const features = new Float32Array(n * DIMENSION);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.min(
      shares.length - 1,
      bounds.findIndex((bound) => (i + 0.5) / n < bound),
    );
    labels[i] = c;
    for (let a = 0; a < DIMENSION; a++) {
      features[i * DIMENSION + a] = centres[c * DIMENSION + a] + scales[c * DIMENSION + a] * random.nextGaussian();
    }
  }
  return { features, labels, d: DIMENSION };
}

/**
 * (d) The clustered data with 30% of its rows exact copies of other rows (in groups of up to 20)
 * and 5 far outliers (50 times the data's spread away).
 */
function outliersAndDuplicates(n: number, random: SeededRandom): Labelled {
  const { features, labels } = clustered(n, random);
  const originals = Math.ceil(0.7 * n);
  for (let i = originals; i < n; i++) {
    const source = Math.floor((random.nextFloat() * originals) / 20) * 20;
    features.copyWithin(i * DIMENSION, source * DIMENSION, (source + 1) * DIMENSION);
    labels[i] = labels[source];
  }
  for (let o = 0; o < 5; o++) {
    const i = Math.floor(((o + 0.5) * originals) / 5);
    for (let a = 0; a < DIMENSION; a++) features[i * DIMENSION + a] += 50 * 0.1 * random.nextGaussian();
  }
  return { features, labels, d: DIMENSION };
}

/** (e) A closed curve (a trefoil-like loop) mapped into 768-D by a random linear map, small noise; labels: 8 arcs. */
function curve(n: number, random: SeededRandom): Labelled {
  const basis = Float64Array.from({ length: 6 * DIMENSION }, () => random.nextGaussian() / Math.sqrt(DIMENSION));
  const features = new Float32Array(n * DIMENSION);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    const point = [
      Math.sin(t) + 2 * Math.sin(2 * t),
      Math.cos(t) - 2 * Math.cos(2 * t),
      -Math.sin(3 * t),
      Math.cos(5 * t),
      Math.sin(7 * t) / 2,
      t / 4,
    ];
    labels[i] = Math.floor((8 * i) / n);
    for (let a = 0; a < DIMENSION; a++) {
      let value = 0.002 * random.nextGaussian();
      for (let b = 0; b < 6; b++) value += point[b] * basis[b * DIMENSION + a];
      features[i * DIMENSION + a] = value;
    }
  }
  return { features, labels, d: DIMENSION };
}

/**
 * (c) The CLS features of a block of a ViT on the first n digits images (bench/tsneFeatures.ts),
 * the same at every seed.
 */
function cls(model: RealModel, block: number): (n: number) => Promise<Labelled> {
  return async (n) => {
    const { values, labels, dim } = await realFeatures(model, block, n);
    return { features: values, labels, d: dim };
  };
}

export const SHAPES = {
  clustered,
  overlapping,
  outliers: outliersAndDuplicates,
  curve,
  'vit-low': cls('vit', 1),
  'vit-high': cls('vit', 6),
  'vit768-low': cls('vit768', 2),
  'vit768-high': cls('vit768', 12),
} as const;
export type ShapeName = keyof typeof SHAPES;

/**
 * One P for every engine's exact KL on these rows: exact neighbours and the default perplexity,
 * equal to scikit-learn's (test/lib/embed/tsne.test.ts).
 */
export async function referenceAffinities(features: Float32Array, n: number, d: number): Promise<SparseAffinities> {
  const k = Math.min(n - 1, Math.floor(3 * DEFAULT_PERPLEXITY + 1));
  return jointProbabilities(await exactNeighbors(features, n, d, k), n, DEFAULT_PERPLEXITY);
}

/** Rows of shape `shape` at n, the same for a given seed. */
export async function generate(shape: ShapeName, n: number, seed: number): Promise<Labelled> {
  return SHAPES[shape](n, new SeededRandom(seed));
}
