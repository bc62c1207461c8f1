// AssemblyScript source of the attractive half of the t-SNE gradient (lib/embed/tsne/attraction.ts
// drives it); built to dist/wasm/attraction.wasm by `npm run build:wasm`. The memory is imported
// and shared: every thread of a run has its own instance over the same P and embedding.
//
// For rows start..end - 1 of the sparse P (CSR: i32 indptr, i32 indices, f64 values), writes
//   sum_j exaggeration p_ij w_ij (y_i - y_j),  w_ij = 1 / (1 + |y_i - y_j|^2),
// to out[2i], out[2i + 1], the embedding being n x 2 f64 (x, y interleaved). Two entries of a
// row at a time in f64x2 lanes, each lane summing its own entries in order, lanes added at the
// end: a fixed order, whoever runs which rows.

export function attractionRows(
  indptr: usize,
  indices: usize,
  values: usize,
  embedding: usize,
  start: i32,
  end: i32,
  exaggeration: f64,
  out: usize,
): void {
  const one = f64x2.splat(1);
  const factor = f64x2.splat(exaggeration);
  for (let i = start; i < end; i++) {
    const xi = load<f64>(embedding + <usize>(2 * i) * 8);
    const yi = load<f64>(embedding + <usize>(2 * i + 1) * 8);
    const pointX = f64x2.splat(xi);
    const pointY = f64x2.splat(yi);
    let forceX = f64x2.splat(0);
    let forceY = f64x2.splat(0);
    const first = load<i32>(indptr + <usize>i * 4);
    const last = load<i32>(indptr + <usize>(i + 1) * 4);
    let t = first;
    for (; t + 1 < last; t += 2) {
      const j0 = load<i32>(indices + <usize>t * 4);
      const j1 = load<i32>(indices + <usize>(t + 1) * 4);
      const at0 = embedding + <usize>(2 * j0) * 8;
      const at1 = embedding + <usize>(2 * j1) * 8;
      const x = f64x2.replace_lane(f64x2.splat(load<f64>(at0)), 1, load<f64>(at1));
      const y = f64x2.replace_lane(f64x2.splat(load<f64>(at0 + 8)), 1, load<f64>(at1 + 8));
      const dx = f64x2.sub(pointX, x);
      const dy = f64x2.sub(pointY, y);
      const w = f64x2.div(one, f64x2.add(one, f64x2.add(f64x2.mul(dx, dx), f64x2.mul(dy, dy))));
      const pw = f64x2.mul(f64x2.mul(v128.load(values + <usize>t * 8), factor), w);
      forceX = f64x2.add(forceX, f64x2.mul(pw, dx));
      forceY = f64x2.add(forceY, f64x2.mul(pw, dy));
    }
    let lastX = 0.0;
    let lastY = 0.0;
    if (t < last) {
      const j = load<i32>(indices + <usize>t * 4);
      const dx = xi - load<f64>(embedding + <usize>(2 * j) * 8);
      const dy = yi - load<f64>(embedding + <usize>(2 * j + 1) * 8);
      const w = 1.0 / (1.0 + (dx * dx + dy * dy));
      const pw = load<f64>(values + <usize>t * 8) * exaggeration * w;
      lastX = pw * dx;
      lastY = pw * dy;
    }
    store<f64>(out + <usize>(2 * i) * 8, f64x2.extract_lane(forceX, 0) + f64x2.extract_lane(forceX, 1) + lastX);
    store<f64>(out + <usize>(2 * i + 1) * 8, f64x2.extract_lane(forceY, 0) + f64x2.extract_lane(forceY, 1) + lastY);
  }
}
