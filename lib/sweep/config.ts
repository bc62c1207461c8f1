/**
 * The sweep file (YAML): which models, datasets, alphas and seeds to prune, where the outputs go,
 * and how many datasets run at once. Validated with zod; every error names the file, the key and why.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { keyedGradient, TSNE_GRADIENTS, type TsneGradient } from '../embed/tsne/gradients.js';
import { InputError } from '../errors.js';
import { datasetDigest } from '../io/datasets.js';
import type { ModelOptions } from '../onnx/inference.js';
import { modelDigest } from '../onnx/model.js';
import { artifactKey } from '../store/artifacts.js';

/** Names end up in workflow IDs, search attributes and file names. */
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-", starting with a letter or digit');
const path = z.string().min(1, 'must be a non-empty path');
const alpha = z.number().refine((value) => value > 0 && value <= 1, 'alpha must be in (0, 1]');

const datasetSchema = z.strictObject({
  name,
  data: path,
  /** A held-out split: the checkpoints then report accuracy before and after pruning. */
  evalData: path.optional(),
  /** The dataset's own adapted model; without it the dataset runs under every entry of `models`. */
  model: path.optional(),
  mean: z.string().optional(),
  std: z.string().optional(),
});

const sweepSchema = z.strictObject({
  name,
  /** Model name -> ONNX file, for datasets without a model of their own. */
  models: z.record(name, path).optional(),
  datasets: z.array(datasetSchema).min(1, 'must list at least one dataset'),
  alphas: z.array(alpha).min(1, 'must list at least one alpha').default([0.3]),
  seeds: z.array(z.number().int('must be an integer').min(0, 'must be >= 0')).min(1, 'must list at least one seed').default([0]),
  /** t-SNE seeds per layer in every run: the cut is the mean curve's, and each run says whether its repeats agree. */
  repeats: z.number().int('must be an integer').min(1, 'must be at least 1').default(1),
  /** The t-SNE's gradient: 'barnes_hut' is scikit-learn's at every n (lib/embed/tsne/gradients.ts). */
  tsneGradient: z.enum(TSNE_GRADIENTS, { error: `must be one of ${TSNE_GRADIENTS.join(', ')}` }).default('auto'),
  /** Output root: the report and the sweep's result go under it. */
  output: path,
  /** Report directory, relative to the output root. */
  report: path.default('report'),
  concurrency: z.number().int('must be an integer').min(1, 'must be at least 1').default(4),
  batchSize: z.number().int('must be an integer').min(1, 'must be at least 1').optional(),
  waveSize: z.number().int('must be an integer').min(1, 'must be at least 1').optional(),
  blockOutputs: z.array(z.string()).optional(),
});

export type SweepFile = z.infer<typeof sweepSchema>;

/** One child run: a (model, dataset, seed), paths absolute. */
export interface SweepChildPlan {
  /** Unique in its sweep and derived from the sweep's ID: `<sweepId>.<dataset>.<model>.s<seed>`. */
  childId: string;
  modelName: string;
  model: string;
  data: string;
  evalData?: string;
  datasetName: string;
  seed: number;
  /** The sweep's batch size and block outputs with the dataset's own mean and std. */
  modelOptions: ModelOptions;
}

export interface SweepPlan {
  /** `sweep-<name>-<hash of every input's content and every parameter>`. */
  sweepId: string;
  name: string;
  alphas: number[];
  concurrency: number;
  outputRoot: string;
  reportDir: string;
  waveSize?: number;
  /** t-SNE seeds per layer; absent for one. */
  repeats?: number;
  /** Absent for 'auto'. */
  tsneGradient?: TsneGradient;
  children: SweepChildPlan[];
}

/** The model name a dataset's own adapted model is listed under. */
export const OWN_MODEL = 'own';

function keyPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
    '',
  );
}

/** An output path given relative to the root must stay inside it. */
function insideRoot(root: string, path: string, file: string, key: string): string {
  const absolute = resolve(root, path);
  const offset = relative(root, absolute);
  if (offset.startsWith('..') || isAbsolute(offset)) {
    throw new InputError(file, `${key}: "${path}" leads outside the output root ${root}`);
  }
  return absolute;
}

/** Parses and validates a sweep file's text; relative paths are relative to the file's directory. */
export function parseSweepFile(text: string, file: string): SweepFile {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new InputError(file, `not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
  const parsed = sweepSchema.safeParse(document);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const where = keyPath(issue.path);
    const why = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    throw new InputError(file, `${where || '(top level)'}: ${why}`);
  }
  const sweep = parsed.data;
  const seen = new Set<string>();
  sweep.datasets.forEach((dataset, index) => {
    if (seen.has(dataset.name)) throw new InputError(file, `datasets[${index}].name: "${dataset.name}" is listed twice`);
    seen.add(dataset.name);
    if (!dataset.model && !sweep.models) {
      throw new InputError(file, `datasets[${index}].model: dataset "${dataset.name}" has no model and the file has no "models"`);
    }
  });
  return sweep;
}

/**
 * The runs a sweep file asks for: one per (model, dataset, seed). The sweep ID hashes the content
 * of every model and dataset with every parameter, so the same sweep always gets the same ID.
 */
export async function planSweep(sweep: SweepFile, file: string): Promise<SweepPlan> {
  const base = dirname(resolve(file));
  const outputRoot = resolve(base, sweep.output);
  const reportDir = insideRoot(outputRoot, sweep.report, file, 'report');
  const runs = sweep.datasets.flatMap((dataset) => {
    const models: Array<[string, string]> = dataset.model ? [[OWN_MODEL, dataset.model]] : Object.entries(sweep.models ?? {});
    return models.flatMap(([modelName, model]) =>
      sweep.seeds.map((seed) => ({
        modelName,
        model: resolve(base, model),
        data: resolve(base, dataset.data),
        evalData: dataset.evalData === undefined ? undefined : resolve(base, dataset.evalData),
        datasetName: dataset.name,
        seed,
        mean: dataset.mean,
        std: dataset.std,
      })),
    );
  });
  const digests = await Promise.all(
    runs.map(async (run) => ({
      model: await modelDigest(run.model),
      data: await datasetDigest(run.data),
      evalData: run.evalData === undefined ? undefined : await datasetDigest(run.evalData),
    })),
  );
  // Content, not paths, identify a run; the output root and the concurrency do not change results.
  // One repeat and the 'auto' gradient are left out of the key (undefined), so sweeps written
  // before those options keep their ID.
  const repeats = sweep.repeats > 1 ? sweep.repeats : undefined;
  const tsneGradient = keyedGradient(sweep.tsneGradient);
  const key = artifactKey({
    name: sweep.name,
    repeats,
    tsneGradient,
    alphas: sweep.alphas,
    batchSize: sweep.batchSize,
    waveSize: sweep.waveSize,
    blockOutputs: sweep.blockOutputs,
    runs: runs.map((run, i) => ({ ...run, ...digests[i] })),
  });
  const sweepId = `sweep-${sweep.name}-${key.slice(0, 16)}`;
  return {
    sweepId,
    name: sweep.name,
    alphas: sweep.alphas,
    concurrency: sweep.concurrency,
    outputRoot,
    reportDir,
    waveSize: sweep.waveSize,
    repeats,
    tsneGradient,
    children: runs.map(({ mean, std, ...run }) => ({
      childId: `${sweepId}.${run.datasetName}.${run.modelName}.s${run.seed}`,
      ...run,
      modelOptions: { batchSize: sweep.batchSize, blockOutputs: sweep.blockOutputs, mean, std },
    })),
  };
}

/** Reads, validates and plans a sweep file. */
export async function loadSweep(file: string): Promise<SweepPlan> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new InputError(file, 'cannot read the sweep file');
  }
  return planSweep(parseSweepFile(text, file), file);
}
