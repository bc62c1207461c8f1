import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readArrowTable, readFloatRows, readLabels } from '../../lib/io/arrowTensors.js';
import { MODEL, TRAIN, writePixelDataset } from './fixtures.js';

/** `rows` rows of the digits train split, drawn without replacement by a seeded shuffle. */
export async function writeDigitsSubset(path: string, rows: number, seed: number): Promise<void> {
  const table = await readArrowTable(TRAIN);
  const { values, dim } = readFloatRows(table, 'pixels', TRAIN);
  const labels = readLabels(table, TRAIN);
  const order = Array.from({ length: labels.length }, (_, i) => i);
  let state = seed + 1;
  for (let i = order.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648; // a small LCG: tests need variety, not quality
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const picked = order.slice(0, rows);
  const subset = new Float32Array(rows * dim);
  picked.forEach((row, i) => {
    subset.set(values.subarray(row * dim, (row + 1) * dim), i * dim);
  });
  writePixelDataset(
    path,
    subset,
    dim,
    Int32Array.from(picked, (row) => labels[row]),
  );
}

/** A sweep file over `count` digits subsets of `rows` rows, all under the fixture model. */
export async function writeDigitsSweep(dir: string, name: string, count: number, rows: number, extra = ''): Promise<string> {
  const datasets: string[] = [];
  for (let i = 0; i < count; i++) {
    const dataset = `d${String(i).padStart(2, '0')}`;
    await writeDigitsSubset(join(dir, `${dataset}.arrow`), rows, i);
    datasets.push(`  - {name: ${dataset}, data: ${dataset}.arrow}`);
  }
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nmodels: {vit: ${MODEL}}\ndatasets:\n${datasets.join('\n')}\noutput: out\n${extra}`);
  return file;
}
