/**
 * Tensors in Arrow IPC files, readable by pyarrow, polars and DuckDB as they are:
 * features as `feature: FixedSizeList<Float32>[D]` + `label: Int32`, embeddings as
 * `x`, `y: Float64` + `label: Int32`. Rows keep the input's order.
 */
import { readFile } from 'node:fs/promises';
import {
  DataType,
  Field,
  FixedSizeList,
  Float32,
  makeData,
  makeVector,
  Precision,
  Table,
  tableFromIPC,
  tableToIPC,
  type Vector,
} from 'apache-arrow';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../store/atomicWrite.js';

export interface FeatureMatrix {
  /** n * dim values, row-major. */
  values: Float32Array;
  rows: number;
  dim: number;
  labels: Int32Array;
}

export interface Embedding2D {
  x: Float64Array;
  y: Float64Array;
  labels: Int32Array;
}

/** Reads an Arrow IPC file (file or stream format), with errors that name the file. */
export async function readArrowTable(path: string): Promise<Table> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? error})`);
  }
  try {
    return tableFromIPC(bytes);
  } catch (error) {
    throw new InputError(path, `not an Arrow IPC file (${(error as Error).message})`);
  }
}

function isFloat(type: DataType | undefined, precision: Precision): boolean {
  return type !== undefined && DataType.isFloat(type) && type.precision === precision;
}

function requireColumn(table: Table, name: string, path: string): Vector {
  const column = table.getChild(name);
  if (column === null) {
    const present = table.schema.fields.map((field) => field.name).join(', ');
    throw new InputError(path, `has no "${name}" column (columns: ${present || 'none'})`);
  }
  return column;
}

/** The `label` column as Int32, rejecting nulls and other types. */
export function readLabels(table: Table, path: string): Int32Array {
  const column = requireColumn(table, 'label', path);
  if (!(DataType.isInt(column.type) && column.type.bitWidth === 32 && column.type.isSigned)) {
    throw new InputError(path, `column "label" must be Int32, found ${column.type}`);
  }
  if (column.nullCount > 0) {
    throw new InputError(path, `has ${table.numRows} rows but only ${table.numRows - column.nullCount} labels (${column.nullCount} null)`);
  }
  return Int32Array.from(column.toArray() as Int32Array);
}

/**
 * The values of a FixedSizeList<Float32> column as one contiguous row-major matrix, copied out
 * of however many record batches the file holds.
 */
export function readFloatRows(table: Table, name: string, path: string): { values: Float32Array; dim: number } {
  const column = requireColumn(table, name, path);
  const type = column.type;
  if (!DataType.isFixedSizeList(type) || !isFloat(type.children[0]?.type, Precision.SINGLE)) {
    throw new InputError(path, `column "${name}" must be FixedSizeList<Float32>, found ${type}`);
  }
  if (column.nullCount > 0) throw new InputError(path, `column "${name}" has ${column.nullCount} null rows`);
  const dim = type.listSize;
  const values = new Float32Array(column.length * dim);
  let row = 0;
  for (const data of column.data) {
    const child = data.children[0];
    const start = child.offset + data.offset * dim;
    values.set((child.values as Float32Array).subarray(start, start + data.length * dim), row * dim);
    row += data.length;
  }
  return { values, dim };
}

function requireFinite(values: Float32Array | Float64Array, path: string, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new InputError(path, `${what} has a non-finite value (${values[i]}) at flat index ${i}`);
    }
  }
}

export async function readFeatures(path: string): Promise<FeatureMatrix> {
  const table = await readArrowTable(path);
  const { values, dim } = readFloatRows(table, 'feature', path);
  const labels = readLabels(table, path);
  requireFinite(values, path, 'column "feature"');
  return { values, rows: table.numRows, dim, labels };
}

function checkRowCount(rows: number, labels: Int32Array, path: string): void {
  if (labels.length !== rows) {
    throw new InputError(path, `${rows} feature rows but ${labels.length} labels`);
  }
}

export function featureTable(matrix: FeatureMatrix): Table {
  const { values, rows, dim, labels } = matrix;
  const child = makeData({ type: new Float32(), length: rows * dim, nullCount: 0, data: values });
  const listType = new FixedSizeList(dim, new Field('item', new Float32(), false));
  const feature = makeVector(makeData({ type: listType, length: rows, nullCount: 0, child }));
  return new Table({ feature, label: makeVector(labels) });
}

export async function writeFeatures(path: string, matrix: FeatureMatrix): Promise<void> {
  checkRowCount(matrix.rows, matrix.labels, path);
  if (matrix.values.length !== matrix.rows * matrix.dim) {
    throw new InputError(path, `${matrix.values.length} values do not make ${matrix.rows} rows of ${matrix.dim}`);
  }
  await writeFileAtomic(path, tableToIPC(featureTable(matrix), 'file'));
}

export async function writeEmbedding(path: string, embedding: Embedding2D): Promise<void> {
  checkRowCount(embedding.x.length, embedding.labels, path);
  const table = new Table({
    x: makeVector(embedding.x),
    y: makeVector(embedding.y),
    label: makeVector(embedding.labels),
  });
  await writeFileAtomic(path, tableToIPC(table, 'file'));
}

function readCoordinate(table: Table, name: string, path: string): Float64Array {
  const column = requireColumn(table, name, path);
  if (!isFloat(column.type, Precision.DOUBLE) && !isFloat(column.type, Precision.SINGLE)) {
    throw new InputError(path, `column "${name}" must be Float32 or Float64, found ${column.type}`);
  }
  if (column.nullCount > 0) throw new InputError(path, `column "${name}" has ${column.nullCount} nulls`);
  const values = Float64Array.from(column.toArray() as Float64Array | Float32Array);
  requireFinite(values, path, `column "${name}"`);
  return values;
}

export async function readEmbedding(path: string): Promise<Embedding2D> {
  const table = await readArrowTable(path);
  return {
    x: readCoordinate(table, 'x', path),
    y: readCoordinate(table, 'y', path),
    labels: readLabels(table, path),
  };
}
