import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { EXTRACT_SUMMARY_FILE, type ExecutionProvider, type ExtractSummary, extractFeatures } from '../lib/extract/extract.js';
import { datasetDigest } from '../lib/io/datasets.js';
import type { ModelOptions } from '../lib/onnx/inference.js';
import { modelDigest } from '../lib/onnx/model.js';
import { runStep, type StepDefinition } from '../lib/store/step.js';
import { failFastOnBadInput } from './failures.js';
import { type HostSettings, onHost } from './host.js';

export interface ExtractInput extends ModelOptions {
  model: string;
  data: string;
  artifactRoot: string;
  executionProvider?: ExecutionProvider;
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

/** What determines the features directory (the batch size does not). */
export async function extractStep(input: ExtractInput): Promise<StepDefinition> {
  return {
    root: input.artifactRoot,
    kind: 'features',
    step: 'extract',
    inputs: {
      model: { path: input.model, sha256: await modelDigest(input.model) },
      data: { path: input.data, sha256: await datasetDigest(input.data) },
    },
    parameters: {
      mean: input.mean,
      std: input.std,
      blockOutputs: input.blockOutputs,
      executionProvider: input.executionProvider ?? 'cpu',
    },
    layout: 'directory',
  };
}

/** Extract step: one forward pass, every block's CLS features, one Arrow file per layer. */
export async function extractLayerFeatures(input: ExtractInput, settings: HostSettings = {}): Promise<ExtractResult> {
  return failFastOnBadInput(async () => {
    const context = Context.current();
    const { path: featuresDir, reused } = await runStep({
      ...(await extractStep(input)),
      build: async ({ temporary }) => {
        await onHost(settings, () =>
          extractFeatures(input.model, input.data, temporary, {
            ...input,
            onBatch: (rowsDone, rowsTotal) => context.heartbeat({ step: 'extract', rowsDone, rowsTotal }),
          }),
        );
      },
      onDamaged: (path, reason) => context.log.warn(`rebuilding ${path}: ${reason}`),
    });
    const summary = JSON.parse(await readFile(join(featuresDir, EXTRACT_SUMMARY_FILE), 'utf8')) as ExtractSummary;
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
