/**
 * Real CLS features for bench/tsneData.ts: a block of a ViT on n digits images, extracted by the
 * pipeline's own extraction (lib/extract, onnxruntime-node, as `sls extract` runs it) and cached
 * under .sls/bench/tsne-real/, one directory per model digest and n with every block's file, so a
 * second run only reads them. The images and the random-weight ViT are made by
 * bench/make_tsne_real.py in .venv-fixtures (SLS_FIXTURE_PYTHON to use another).
 */
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EXTRACT_SUMMARY_FILE, extractFeatures, layerFileName } from '../lib/extract/extract.js';
import { type FeatureMatrix, readFeatures } from '../lib/io/arrowTensors.js';
import { modelDigest } from '../lib/onnx/model.js';
import { exists } from '../lib/store/artifacts.js';
import { placeIfAbsent, temporarySibling } from '../lib/store/atomicWrite.js';
import { MODEL as FIXTURE_MODEL } from '../test/helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..');
const CACHE = join(ROOT, '.sls', 'bench', 'tsne-real');
const PYTHON = process.env.SLS_FIXTURE_PYTHON ?? join(ROOT, '.venv-fixtures', 'bin', 'python');

/**
 * vit: the fixture ViT (6 blocks, width 64, 16 x 16 input, adapted to digits). vit768: random
 * weights, width 768 and 12 blocks as ViT-B/16, 32 x 32 input in 8 x 8 patches (made once).
 */
const MODELS = {
  vit: { path: FIXTURE_MODEL, side: 16, madeByScript: false },
  vit768: { path: join(CACHE, 'vit768', 'model.onnx'), side: 32, madeByScript: true },
} as const;
export type RealModel = keyof typeof MODELS;

function makeTsneReal(argv: string[]): void {
  const result = spawnSync(PYTHON, [join(ROOT, 'bench', 'make_tsne_real.py'), ...argv], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`make_tsne_real.py ${argv.join(' ')} failed (${result.status}):\n${result.stderr}`);
}

/** The directory of every block's features of `model` on n digits images, extracted when not cached. */
async function extracted(model: RealModel, n: number): Promise<string> {
  const { path, side, madeByScript } = MODELS[model];
  if (madeByScript && !(await exists(path))) makeTsneReal(['model', join(path, '..')]);
  const directory = join(CACHE, `${model}-${(await modelDigest(path)).slice(0, 16)}-n${n}`);
  if (await exists(join(directory, EXTRACT_SUMMARY_FILE))) return directory;
  const pixels = temporarySibling(join(CACHE, `digits${side}-n${n}.arrow`));
  const temporary = temporarySibling(directory);
  try {
    makeTsneReal(['digits', pixels, String(n), String(side)]);
    const start = performance.now();
    const summary = await extractFeatures(path, pixels, temporary);
    console.error(
      `[tsne-real] ${model}, ${n} images: ${summary.layers} blocks of ${summary.dim}-D extracted in ` +
        `${((performance.now() - start) / 1000).toFixed(1)} s (${summary.imagesPerSecond.toFixed(1)} images/s steady)`,
    );
    await placeIfAbsent(temporary, directory, 'directory');
  } finally {
    await rm(pixels, { force: true });
    await rm(temporary, { recursive: true, force: true });
  }
  return directory;
}

/** The CLS features of block `block` (1 = first) of `model` on the first n digits images. */
export async function realFeatures(model: RealModel, block: number, n: number): Promise<FeatureMatrix> {
  return readFeatures(join(await extracted(model, n), layerFileName(block)));
}
