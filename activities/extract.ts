import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { EXTRACT_SUMMARY_FILE, type ExecutionProvider, type ExtractSummary, extractFeatures } from '../lib/extract/extract.js';
import { datasetDigest } from '../lib/io/datasets.js';
import { modelDigest } from '../lib/onnx/model.js';
import { artifactKey, STEP_VERSIONS } from '../lib/store/artifacts.js';
import { publishWithLineage, reuseIfIntact } from '../lib/store/lineage.js';
import { failFastOnBadInput } from './failures.js';

export interface ExtractInput {
  model: string;
  data: string;
  artifactRoot: string;
  batchSize?: number;
  executionProvider?: ExecutionProvider;
  mean?: string;
  std?: string;
  blockOutputs?: string[];
}

export interface ExtractResult {
  featuresDir: string;
  /** layerFiles[i - 1] holds block i's CLS features. */
  layerFiles: string[];
  rows: number;
  dim: number;
  imagesPerSecond: number;
  /** True when the features already existed and nothing was computed. */
  reused: boolean;
}

/** Extract step: one forward pass, every block's CLS features, one Arrow file per layer. */
export async function extractLayerFeatures(input: ExtractInput): Promise<ExtractResult> {
  return failFastOnBadInput(async () => {
    const model = { path: input.model, sha256: await modelDigest(input.model) };
    const data = { path: input.data, sha256: await datasetDigest(input.data) };
    const parameters = {
      mean: input.mean,
      std: input.std,
      blockOutputs: input.blockOutputs,
      executionProvider: input.executionProvider ?? 'cpu',
    };
    const key = artifactKey({ step: 'extract', version: STEP_VERSIONS.extract, model: model.sha256, data: data.sha256, ...parameters });
    const featuresDir = join(input.artifactRoot, 'features', key);
    const summaryFile = join(featuresDir, EXTRACT_SUMMARY_FILE);
    const context = Context.current();
    const reused = await reuseIfIntact(featuresDir, (reason) => context.log.warn(`rebuilding ${featuresDir}: ${reason}`));
    if (!reused) {
      const provenance = { step: 'extract', stepVersion: STEP_VERSIONS.extract, inputs: { model, data }, parameters };
      await publishWithLineage(
        featuresDir,
        'directory',
        (dir) =>
          extractFeatures(input.model, input.data, dir, {
            ...input,
            onBatch: (rowsDone, rowsTotal) => context.heartbeat({ rowsDone, rowsTotal }),
          }).then(() => undefined),
        provenance,
      );
    }
    const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as ExtractSummary;
    return {
      featuresDir,
      layerFiles: summary.files.map((file) => join(featuresDir, file)),
      rows: summary.rows,
      dim: summary.dim,
      imagesPerSecond: summary.imagesPerSecond,
      reused,
    };
  });
}
