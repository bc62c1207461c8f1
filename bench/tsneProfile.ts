/**
 * Where a t-SNE's time goes: CPU and wall seconds of each phase (kNN, affinities, PCA, the
 * gradients of the exaggerated and the final stage, the exact KL) of runTsne's steps, on the
 * data shapes of bench/tsneData.ts, and the FFT gradient's grid (the embedding's extent and the
 * FFT length a side) every 50 iterations.
 *
 *   npx tsx bench/tsneProfile.ts [--sizes 1000,2000,5000] [--shapes clustered,overlapping,outliers,curve]
 *                                [--methods auto] [--threads 1]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { jointProbabilities } from '../lib/embed/tsne/affinity.js';
import { cheaperGradient } from '../lib/embed/tsne/gradientChoice.js';
import type { TsneGradient } from '../lib/embed/tsne/gradients.js';
import { gradientObjective } from '../lib/embed/tsne/index.js';
import { embeddingSquare, gridShape } from '../lib/embed/tsne/interpolation.js';
import { exactKlDivergence } from '../lib/embed/tsne/kl.js';
import { nearestNeighbors } from '../lib/embed/tsne/neighbors.js';
import { gradientDescent, newWorkspace } from '../lib/embed/tsne/optimizer.js';
import { pcaInitialization } from '../lib/embed/tsne/pca.js';
import { startTsneTeam } from '../lib/embed/tsne/tsneTeam.js';
import { generate, type ShapeName } from './tsneData.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,2000,5000' },
    shapes: { type: 'string', default: 'clustered,overlapping,outliers,curve' },
    methods: { type: 'string', default: 'auto' },
    threads: { type: 'string', default: '1' },
  },
});
const threads = Number(args.threads);

/** CPU and wall seconds of `work`. */
async function timed<T>(work: () => Promise<T> | T): Promise<{ value: T; cpu: number; wall: number }> {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const value = await work();
  const cpu = process.cpuUsage(cpuStart);
  return { value, cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - wallStart) / 1000 };
}

const extentOf = (embedding: Float64Array) => embeddingSquare(embedding).extent;

console.log(`threads ${threads}; load average (1 min) ${loadavg()[0].toFixed(1)} at the start`);
console.log(
  '| shape | n | method | kNN | P | PCA | grad exag. (250) | grad final | KL | total CPU | wall | exact KL | extent @250 / end | FFT length @50,250,500,1000 | cheaper per 50 its (F FFT, B Barnes-Hut) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const shape of args.shapes.split(',') as ShapeName[]) {
  for (const n of args.sizes.split(',').map(Number)) {
    const { features, d } = await generate(shape, n, 1);
    for (const requested of args.methods.split(',')) {
      const method = requested as TsneGradient;
      const team = threads > 1 ? startTsneTeam(threads) : undefined;
      const k = Math.min(n - 1, 91);
      const knn = await timed(() => nearestNeighbors(features, n, d, k, team, { seed: 0 }));
      const p = await timed(() => jointProbabilities(knn.value, n, 30));
      const pca = await timed(() => pcaInitialization(features, n, d, 0, team));
      const embedding = pca.value;
      const gradient = gradientObjective(method, p.value, team);
      const lengths: number[] = [];
      const choices: string[] = [cheaperGradient(n, extentOf(embedding)) === 'fft' ? 'F' : 'B'];
      const extents: number[] = [];
      const onCheck = (iteration: number) => {
        if ([50, 250, 500, 1000].includes(iteration)) lengths.push(gridShape(extentOf(embedding)).length);
        // What 'auto' computes the next 50 gradients with (from n = BARNES_HUT_FROM).
        if (iteration < 1000) choices.push(cheaperGradient(n, extentOf(embedding)) === 'fft' ? 'F' : 'B');
        if (iteration === 250) extents.push(extentOf(embedding));
      };
      const workspace = newWorkspace(n);
      const learningRate = Math.max(n / 12 / 4, 50);
      const stage = { momentum: 0.5, learningRate, exaggeration: 12, iterationsWithoutProgress: 250 };
      const exaggerated = await timed(() =>
        gradientDescent(gradient.objective, embedding, { ...stage, startIteration: 0, maxIter: 250 }, workspace, onCheck),
      );
      const final = await timed(() =>
        gradientDescent(
          gradient.objective,
          embedding,
          { momentum: 0.8, learningRate, exaggeration: 1, iterationsWithoutProgress: 300, startIteration: 250, maxIter: 1000 },
          workspace,
          onCheck,
        ),
      );
      gradient.release();
      await team?.close();
      const kl = await timed(() => exactKlDivergence(p.value, embedding));
      const phases = [knn, p, pca, exaggerated, final, kl];
      const cells = [
        shape,
        n,
        method,
        ...phases.map((phase) => phase.cpu.toFixed(2)),
        phases.reduce((sum, phase) => sum + phase.cpu, 0).toFixed(2),
        phases.reduce((sum, phase) => sum + phase.wall, 0).toFixed(2),
        kl.value.toFixed(4),
        `${extents[0]?.toFixed(0)} / ${extentOf(embedding).toFixed(0)}`,
        lengths.join(','),
        choices.join(''),
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
  }
}
