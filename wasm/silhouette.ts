// AssemblyScript source of the silhouette's distance sums (lib/silhouette.ts drives it); built to
// dist/wasm/silhouette.wasm by `npm run build:wasm` (infra/setup.sh runs it).
//
// Memory, laid out by the caller (byte offsets): the n points sorted by class, axis-major f64
// (coordinates[axis * n + q]); classStart, classCount + 1 i32 (class c holds the sorted points
// classStart[c] .. classStart[c + 1] - 1); and the two outputs of `rowBlock`. Everything is f64,
// as in scikit-learn.

/**
 * Measures every pair (p, q), p < q, of the sorted points p = first .. end - 1, all of one class,
 * once (the square roots bound the speed, so each pair once halves the time).
 * rowSums[(p - first) * classCount + c] gets the sum of the distances from p to the points of
 * class c after p; columnSums[q - first - 1], q > first, gets the sum of the distances from q to
 * the points of this block before q. Both are sums in a fixed order (q ascending in two f64 lanes
 * with two accumulators; p ascending), so they do not depend on which thread computes them.
 */
export function rowBlock(
  coordinates: usize,
  n: i32,
  dim: i32,
  classStart: usize,
  classCount: i32,
  first: i32,
  end: i32,
  rowSums: usize,
  columnSums: usize,
): void {
  const axisBytes = <usize>n * 8;
  let own = 0;
  while (load<i32>(classStart + <usize>(own + 1) * 4) <= first) own++;
  memory.fill(columnSums, 0, <usize>(n - first - 1) * 8);
  memory.fill(rowSums, 0, <usize>((end - first) * classCount) * 8);
  // columnSums shifted so that column q is at columns + q * 8.
  const columns = columnSums - <usize>(first + 1) * 8;
  for (let p = first; p < end; p++) {
    const sumsAt = rowSums + <usize>((p - first) * classCount) * 8;
    let start = p + 1;
    for (let c = own; c < classCount; c++) {
      const classEnd = load<i32>(classStart + <usize>(c + 1) * 4);
      store<f64>(sumsAt + <usize>c * 8, segmentSum(coordinates, axisBytes, dim, p, start, classEnd, columns));
      start = classEnd;
    }
  }
}

/**
 * Sum of the distances from point p to the points start .. end - 1, each distance also added to
 * that point's column.
 */
function segmentSum(coordinates: usize, axisBytes: usize, dim: i32, p: i32, start: i32, end: i32, columns: usize): f64 {
  const pAt = coordinates + <usize>p * 8;
  let even = f64x2.splat(0);
  let odd = f64x2.splat(0);
  let q = start;
  for (; q + 4 <= end; q += 4) {
    let squared0 = f64x2.splat(0);
    let squared1 = f64x2.splat(0);
    let axisAt = coordinates + <usize>q * 8;
    let pAxisAt = pAt;
    for (let axis = 0; axis < dim; axis++) {
      const pCoordinate = f64x2.splat(load<f64>(pAxisAt));
      const delta0 = f64x2.sub(v128.load(axisAt), pCoordinate);
      const delta1 = f64x2.sub(v128.load(axisAt, 16), pCoordinate);
      squared0 = f64x2.add(squared0, f64x2.mul(delta0, delta0));
      squared1 = f64x2.add(squared1, f64x2.mul(delta1, delta1));
      axisAt += axisBytes;
      pAxisAt += axisBytes;
    }
    const distance0 = f64x2.sqrt(squared0);
    const distance1 = f64x2.sqrt(squared1);
    even = f64x2.add(even, distance0);
    odd = f64x2.add(odd, distance1);
    const columnAt = columns + <usize>q * 8;
    v128.store(columnAt, f64x2.add(v128.load(columnAt), distance0));
    v128.store(columnAt, f64x2.add(v128.load(columnAt, 16), distance1), 16);
  }
  let sum = f64x2.extract_lane(even, 0) + f64x2.extract_lane(even, 1) + (f64x2.extract_lane(odd, 0) + f64x2.extract_lane(odd, 1));
  for (; q < end; q++) {
    let squared: f64 = 0;
    let axisAt = coordinates + <usize>q * 8;
    let pAxisAt = pAt;
    for (let axis = 0; axis < dim; axis++) {
      const delta = load<f64>(axisAt) - load<f64>(pAxisAt);
      squared += delta * delta;
      axisAt += axisBytes;
      pAxisAt += axisBytes;
    }
    const distance = sqrt(squared);
    sum += distance;
    const columnAt = columns + <usize>q * 8;
    store<f64>(columnAt, load<f64>(columnAt) + distance);
  }
  return sum;
}
