/** `sls report`: a sweep's results from Temporal, its embeddings from the artifact store, as a report. */
import type { Client } from '@temporalio/client';
import { readEmbedding } from '../lib/io/arrowTensors.js';
import type { SweepChildProgress } from '../lib/sweep/progress.js';
import { chosenLayers, type ReportRun, type SweepReport } from '../lib/sweep/report.js';
import type { PruneDatasetResult } from '../workflows/pruneDataset.js';
import { sweepStatus } from './sweepControl.js';

async function reportRun(client: Client, child: SweepChildProgress): Promise<ReportRun> {
  const base = { datasetName: child.datasetName, modelName: child.modelName, seed: child.seed, status: child.status, error: child.error };
  if (child.status !== 'done') return { ...base, scores: [], decisions: [], checkpoints: [], scatters: [] };
  const result = (await client.workflow.getHandle(child.childId).result()) as PruneDatasetResult;
  const layers = chosenLayers(result.scores.length, result.decisions[0]);
  const scatters = await Promise.all(
    result.embeddings
      // The run's own seed (repeat 0) stands for the layer.
      .filter((embedding) => layers.includes(embedding.layer) && (embedding.repeat ?? 0) === 0)
      .map(async (embedding) => {
        const { x, y, labels } = await readEmbedding(embedding.embeddingFile);
        return { layer: embedding.layer, x: Array.from(x), y: Array.from(y), labels: Array.from(labels) };
      }),
  );
  return {
    ...base,
    scores: result.scores,
    decisions: result.decisions,
    checkpoints: result.checkpoints.map(({ alpha, keptBlocks, parametersKept, parametersTotal, accuracy }) => ({
      alpha,
      keptBlocks,
      parametersKept,
      parametersTotal,
      accuracy: accuracy && {
        full: accuracy.full,
        prunedOriginalHead: accuracy.prunedOriginalHead,
        prunedRefitHead: accuracy.prunedRefitHead,
      },
    })),
    scatters,
    ...(result.repeats && {
      repeats: { seeds: result.repeats.seeds, spread: result.repeats.spread, cuts: result.repeats.cuts, stable: result.repeats.stable },
    }),
  };
}

/** Every run of the sweep so far: finished ones with their curve and scatters, the others with their status. */
export async function collectReport(client: Client, sweepId: string): Promise<SweepReport> {
  const status = await sweepStatus(client, sweepId);
  const runs: ReportRun[] = [];
  for (const child of status.children) runs.push(await reportRun(client, child));
  return { sweepId, name: status.name, alphas: status.alphas, createdAt: new Date().toISOString(), runs };
}
