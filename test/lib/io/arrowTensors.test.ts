import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Float32, Int32, makeData, makeVector, Table, tableToIPC, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  featureTable,
  readArrowTable,
  readEmbedding,
  readFeatures,
  readFloatRows,
  readLabels,
  writeEmbedding,
  writeFeatures,
} from '../../../lib/io/arrowTensors.js';
import { TRAIN, temporaryDir } from '../../helpers/fixtures.js';

describe('feature files', () => {
  it('round-trip a hand-made matrix with its labels, in row order', async () => {
    const path = join(temporaryDir(), 'features.arrow');
    const values = Float32Array.from([1, 2, 3, 4, 5, 6]);
    await writeFeatures(path, { values, rows: 3, dim: 2, labels: Int32Array.from([7, -1, 7]) });
    const read = await readFeatures(path);
    expect(read).toEqual({ values, rows: 3, dim: 2, labels: Int32Array.from([7, -1, 7]) });
  });

  it('use the documented schema: feature FixedSizeList<Float32>[D], label Int32', () => {
    const table = featureTable({ values: new Float32Array(6), rows: 2, dim: 3, labels: Int32Array.from([0, 1]) });
    expect(String(table.schema.fields[0].type)).toBe('FixedSizeList[3]<Float32>');
    expect(table.schema.fields.map((field) => field.name)).toEqual(['feature', 'label']);
    expect(String(table.schema.fields[1].type)).toBe('Int32');
  });

  it('read a pyarrow-written file (the digits fixture: 16x16 RGB images of 17 grey levels)', async () => {
    const table = await readArrowTable(TRAIN);
    const { values, dim } = readFloatRows(table, 'pixels', TRAIN);
    expect(dim).toBe(768);
    expect(values).toHaveLength(1000 * 768);
    // (round(v * 255 / 16) / 255 - 0.5) / 0.5 in float32 steps for v = 0..16, as the fixture script preprocesses.
    const f = Math.fround;
    const levels = new Set(Array.from({ length: 17 }, (_, v) => f(f(f(Math.round((v * 255) / 16) / 255) - 0.5) / 0.5)));
    expect(values.every((value) => levels.has(value))).toBe(true);
    expect(new Set(readLabels(table, TRAIN))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  });

  it('refuse mismatched rows and labels, naming the file', async () => {
    const path = join(temporaryDir(), 'bad.arrow');
    await expect(writeFeatures(path, { values: new Float32Array(6), rows: 3, dim: 2, labels: Int32Array.from([0, 1]) })).rejects.toThrow(
      `${path}: 3 feature rows but 2 labels`,
    );
  });

  it('refuse null labels, missing columns, other types and non-finite values', async () => {
    const dir = temporaryDir();
    const nullLabels = join(dir, 'null-labels.arrow');
    const feature = featureTable({ values: new Float32Array(4), rows: 2, dim: 2, labels: Int32Array.from([0, 1]) }).getChild('feature');
    writeFileSync(nullLabels, tableToIPC(new Table({ feature: feature!, label: vectorFromArray([1, null], new Int32()) }), 'file'));
    await expect(readFeatures(nullLabels)).rejects.toThrow(`${nullLabels}: has 2 rows but only 1 labels (1 null)`);

    const noFeature = join(dir, 'no-feature.arrow');
    writeFileSync(noFeature, tableToIPC(new Table({ label: makeVector(Int32Array.from([0, 1])) }), 'file'));
    await expect(readFeatures(noFeature)).rejects.toThrow(`${noFeature}: has no "feature" column (columns: label)`);

    const flat = join(dir, 'flat.arrow');
    const floats = makeVector(makeData({ type: new Float32(), length: 2, data: Float32Array.from([1, 2]) }));
    writeFileSync(flat, tableToIPC(new Table({ feature: floats, label: makeVector(Int32Array.from([0, 1])) }), 'file'));
    await expect(readFeatures(flat)).rejects.toThrow(/flat\.arrow: column "feature" must be FixedSizeList<Float32>/);

    const nan = join(dir, 'nan.arrow');
    await writeFeatures(nan, { values: Float32Array.from([0, Number.NaN, 1, 2]), rows: 2, dim: 2, labels: Int32Array.from([0, 1]) });
    await expect(readFeatures(nan)).rejects.toThrow(`${nan}: column "feature" has a non-finite value (NaN) at flat index 1`);

    await expect(readFeatures(join(dir, 'missing.arrow'))).rejects.toThrow(/missing\.arrow: file not found/);
    const text = join(dir, 'text.arrow');
    writeFileSync(text, 'not arrow');
    await expect(readFeatures(text)).rejects.toThrow(/text\.arrow: not an Arrow IPC file/);
  });
});

describe('embedding files', () => {
  it('round-trip x, y and labels', async () => {
    const path = join(temporaryDir(), 'embedding.arrow');
    const embedding = { x: Float64Array.from([0.5, -2]), y: Float64Array.from([1e-300, 3]), labels: Int32Array.from([1, 0]) };
    await writeEmbedding(path, embedding);
    expect(await readEmbedding(path)).toEqual(embedding);
  });

  it('accept Float32 coordinates written by other tools', async () => {
    const path = join(temporaryDir(), 'float32.arrow');
    const table = new Table({
      x: makeVector(Float32Array.from([1.5, 2])),
      y: makeVector(Float32Array.from([0.25, 4])),
      label: makeVector(Int32Array.from([0, 1])),
    });
    writeFileSync(path, tableToIPC(table, 'file'));
    const { x, y } = await readEmbedding(path);
    expect(Array.from(x)).toEqual([1.5, 2]);
    expect(Array.from(y)).toEqual([0.25, 4]);
  });
});
