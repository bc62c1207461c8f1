/**
 * The `sls` command line: offline steps (extract, embed, score, decide) and Temporal runs. Each
 * command loads what it needs when it runs (onnxruntime, the Temporal SDK and Arrow take most of a
 * second to load), so that `sls embed` or `sls decide` start in a fraction of that.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { decideCuts, validateAlpha } from '../lib/decide/cutRule.js';
import { TSNE_GRADIENTS, type TsneGradient } from '../lib/embed/tsne/gradients.js';
import { InputError } from '../lib/errors.js';
import type { ExecutionProvider } from '../lib/extract/extract.js';
import type { ModelOptions } from '../lib/onnx/inference.js';
import { packagePath } from '../lib/packageRoot.js';
import { writeFileAtomic } from '../lib/store/atomicWrite.js';
import { temporalConfig } from '../workers/config.js';
import type { WorkerRole } from '../workers/run.js';
import type { FailureCause } from '../workflows/failureCause.js';
import { formatCheckpointReport } from './checkpointReport.js';
import { exitCodeFor, formatFailureCause, formatResultTable } from './format.js';
import type { PipelineInput } from './pipeline.js';
import { registerSweepCommands } from './sweep.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError(`"${value}" is not an integer`);
  return parsed;
}

function positiveInteger(value: string): number {
  const parsed = integer(value);
  if (parsed < 1) throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return parsed;
}

function alphaList(value: string): number[] {
  const alphas = value.split(',').map(Number);
  try {
    alphas.forEach(validateAlpha);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return alphas;
}

function blockOutputs(value: string): string[] {
  return value.split(',').map((name) => name.trim());
}

const epOption = () => new Option('--ep <provider>', 'onnxruntime execution provider').choices(['cpu', 'cuda']).default('cpu');
const gradientOption = () =>
  new Option('--tsne-gradient <method>', "t-SNE gradient; barnes_hut: scikit-learn's at every n, as the paper's scores")
    .choices(TSNE_GRADIENTS)
    .default('auto');

async function readScores(path: string): Promise<number[]> {
  let scores: unknown;
  try {
    scores = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InputError(path, `cannot read a JSON array of scores (${(error as Error).message})`);
  }
  if (!Array.isArray(scores) || scores.length === 0 || scores.some((score) => typeof score !== 'number' || !Number.isFinite(score))) {
    throw new InputError(path, 'must hold a non-empty JSON array of finite numbers SC_1..SC_N');
  }
  return scores;
}

interface RunOptions {
  model: string;
  data: string;
  alpha: number[];
  seed: number;
  repeats?: number;
  tsneGradient: TsneGradient;
  out: string;
  fullCurve?: boolean;
  batch?: number;
  ep: ExecutionProvider;
  mean?: string;
  std?: string;
  blockOutputs?: string[];
  name?: string;
  evalData?: string;
}

/** The flags that say how the model reads the data, as extract and emit take them. */
function modelOptionsOf(options: Pick<RunOptions, 'batch' | 'mean' | 'std' | 'blockOutputs'>): ModelOptions {
  return { batchSize: options.batch, mean: options.mean, std: options.std, blockOutputs: options.blockOutputs };
}

async function runAndReport(options: RunOptions): Promise<void> {
  const config = temporalConfig();
  const pipeline: PipelineInput = {
    model: options.model,
    data: options.data,
    evalData: options.evalData,
    datasetName: options.name,
    alphas: options.alpha,
    seed: options.seed,
    // One repeat is the input of today's runs (and their workflow ID): leave it out.
    repeats: options.repeats === 1 ? undefined : options.repeats,
    tsneGradient: options.tsneGradient,
    fullCurve: options.fullCurve,
    executionProvider: options.ep,
    modelOptions: modelOptionsOf(options),
  };
  const started = performance.now();
  const { runPipeline } = await import('./pipeline.js');
  const run = await runPipeline(config, pipeline);
  const seconds = (performance.now() - started) / 1000;
  const { result } = run;
  const first = result.decisions[0];
  const report = {
    workflowId: run.workflowId,
    runId: run.runId,
    dataset: result.datasetName,
    scores: result.scores,
    threshold: first.threshold,
    keptBlocks: first.keptBlocks,
    checkpoint: result.checkpoints[0].checkpoint,
    decisions: result.decisions,
    ...(result.repeats && { repeats: result.repeats }),
    checkpoints: result.checkpoints,
    reused: result.reused,
    seconds,
  };
  const outFile = join(resolve(options.out), 'result.json');
  await writeFileAtomic(outFile, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(formatResultTable(result));
  process.stdout.write(formatCheckpointReport(result.checkpoints[0]));
  const ui = process.env.SLS_TEMPORAL_UI ?? `http://127.0.0.1:${process.env.SLS_TEMPORAL_UI_PORT ?? '8233'}`;
  process.stdout.write(
    `\nresult: ${outFile}\nwall time: ${seconds.toFixed(1)} s\nTemporal UI: ${ui}/namespaces/${config.namespace}/workflows/${run.workflowId}\n`,
  );
}

const program = new Command('sls')
  .description('Prune the deep blocks of an adapted ViT per dataset with the SLS rule, on Temporal')
  .showHelpAfterError();

const DATA_HELP =
  'Arrow file (pixels or image column, and label), ImageFolder directory, VTAB-1k file list (.txt) or Parquet (file, folder of shards, or "data/train-*.parquet")';

/** How a command reads a model and its images (extract, run, demo). */
function withExtractionOptions(command: Command): Command {
  return command
    .option('--batch <n>', 'extraction batch size (default: as many images as fit in a quarter of free memory)', integer)
    .addOption(epOption())
    .option('--mean <a,b,c>', 'per-channel mean for encoded images (else the model metadata)')
    .option('--std <a,b,c>', 'per-channel std for encoded images (else the model metadata)')
    .option('--block-outputs <t1,t2,...>', 'tensor names of the block outputs, when discovery fails', blockOutputs);
}

withExtractionOptions(
  program
    .command('extract')
    .description('write the CLS features of every block: DIR/layer-01.arrow ... DIR/layer-NN.arrow')
    .requiredOption('--model <file>', 'ONNX ViT')
    .requiredOption('--data <path>', DATA_HELP)
    .requiredOption('--out <dir>', 'output directory'),
).action(async (options) => {
  await mkdir(options.out, { recursive: true });
  const { extractFeatures } = await import('../lib/extract/extract.js');
  const summary = await extractFeatures(options.model, options.data, options.out, {
    executionProvider: options.ep,
    ...modelOptionsOf(options),
  });
  process.stdout.write(`${JSON.stringify({ ...summary, out: options.out })}\n`);
});

program
  .command('embed')
  .description('t-SNE of one layer to 2-D (scikit-learn defaults), offline')
  .argument('<features>', 'a layer-NN.arrow file')
  .requiredOption('--out <file>', 'embedding Arrow file (x, y, label)')
  .option('--seed <s>', 'random seed', integer, 0)
  .addOption(gradientOption())
  .action(async (features: string, options) => {
    const { embedFeatureFile } = await import('../lib/embed/layerEmbedding.js');
    const { rows, klDivergence } = await embedFeatureFile(features, options.out, { seed: options.seed, method: options.tsneGradient });
    process.stdout.write(`${JSON.stringify({ out: options.out, rows, kl: klDivergence })}\n`);
  });

program
  .command('score')
  .description('the SLS score of an embedding: silhouette after min-max scaling, labels as clusters')
  .argument('<embedding>', 'an embedding Arrow file')
  .action(async (embedding: string) => {
    const { scoreEmbeddingFile } = await import('../lib/embed/layerEmbedding.js');
    process.stdout.write(`${JSON.stringify({ sc: await scoreEmbeddingFile(embedding) })}\n`);
  });

program
  .command('decide')
  .description('the cut for each alpha from a JSON array SC_1..SC_N')
  .requiredOption('--scores <file>', 'JSON array of scores, layer 1 first')
  .requiredOption('--alpha <a[,a2,...]>', 'one or more alphas in (0, 1]', alphaList)
  .action(async (options) => {
    const scores = await readScores(options.scores);
    const cuts = decideCuts(scores, options.alpha).map(({ alpha, keptBlocks, threshold, reason }) => ({
      alpha,
      keptBlocks,
      threshold,
      reason,
    }));
    process.stdout.write(`${JSON.stringify({ blocks: scores.length, cuts })}\n`);
  });

const runCommand = (name: string, description: string) => {
  const command = program
    .command(name)
    .description(description)
    .option('--alpha <a[,a2,...]>', 'one or more alphas in (0, 1]', alphaList, [0.3])
    .option('--seed <s>', 'random seed', integer, 0)
    .option(
      '--repeats <r>',
      "t-SNE seeds per layer: the cut is the mean curve's, and the run says whether the repeats agree",
      positiveInteger,
      1,
    )
    .addOption(gradientOption())
    .option('--full-curve', 'score every layer, not only down to the cut')
    .option('--name <dataset>', 'dataset name shown in the Temporal UI');
  return withExtractionOptions(command);
};

runCommand('run', 'run the whole pipeline through Temporal and write DIR/result.json')
  .requiredOption('--model <file>', 'ONNX ViT')
  .requiredOption('--data <path>', DATA_HELP)
  .requiredOption('--out <dir>', 'output directory')
  .option('--eval-data <path>', 'held-out split: the manifest reports its accuracy for the full, pruned and refit models')
  .action(runAndReport);

const FIXTURES = packagePath('test', 'fixtures');
runCommand('demo', 'the pipeline on the bundled fixture ViT and digits data')
  .option('--out <dir>', 'output directory', 'runs/demo')
  .action(async (options) => {
    await runAndReport({
      ...options,
      model: join(FIXTURES, 'vit', 'model.onnx'),
      data: join(FIXTURES, 'digits', 'train.arrow'),
      evalData: join(FIXTURES, 'digits', 'test.arrow'),
      name: options.name ?? 'digits',
      fullCurve: options.fullCurve ?? true,
    });
    process.stdout.write('The local Temporal server keeps running; stop it with: npm run server:stop\n');
  });

program
  .command('worker')
  .description('poll the task queues: gpu (extract), cpu (workflows, t-SNE, score, emit) or all')
  .argument('[role]', 'gpu | cpu | all', 'all')
  .action(async (role: WorkerRole) => (await import('../workers/run.js')).runWorkers(role));

registerSweepCommands(program);

try {
  await program.parseAsync();
  // A sweep or status that shows failed runs sets its own exit code.
  process.exit(process.exitCode ?? 0);
} catch (error) {
  const cause: FailureCause =
    error instanceof InputError
      ? { message: error.message, badInput: true }
      : (await import('../workflows/failureCause.js')).innermostCause(error);
  process.stderr.write(`sls: ${formatFailureCause(cause)}\n`);
  process.exit(exitCodeFor([cause]));
}
