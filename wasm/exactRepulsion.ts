// AssemblyScript source of the exact t-SNE repulsion (lib/embed/tsne/exact.ts drives it); built to
// dist/wasm/exactRepulsion.wasm by `npm run build:wasm`. The memory is imported and shared: every
// thread of a run has its own instance over the same embedding.
//
// For rows start..end - 1 of an embedding given as separate x and y arrays (padded to an even
// length with points far enough away that their kernel value is 0), writes per row
//   sum_j w_ij^2 (x_i - x_j), sum_j w_ij^2 (y_i - y_j)   to repulsion[2i], repulsion[2i + 1],
//   sum_j w_ij                                            to rowZ[i]   (j = i included: w_ii = 1),
// with w_ij = 1 / (1 + |y_i - y_j|^2). Two columns j at a time in f64x2 lanes, each lane summing
// its own columns in order, lanes added at the end: a fixed order, whoever runs which rows.

export function repulsionRows(xs: usize, ys: usize, paddedCount: i32, start: i32, end: i32, repulsion: usize, rowZ: usize): void {
  const one = f64x2.splat(1);
  for (let i = start; i < end; i++) {
    const xi = f64x2.splat(load<f64>(xs + <usize>i * 8));
    const yi = f64x2.splat(load<f64>(ys + <usize>i * 8));
    let z = f64x2.splat(0);
    let forceX = f64x2.splat(0);
    let forceY = f64x2.splat(0);
    for (let j = 0; j < paddedCount; j += 2) {
      const dx = f64x2.sub(xi, v128.load(xs + <usize>j * 8));
      const dy = f64x2.sub(yi, v128.load(ys + <usize>j * 8));
      const w = f64x2.div(one, f64x2.add(one, f64x2.add(f64x2.mul(dx, dx), f64x2.mul(dy, dy))));
      z = f64x2.add(z, w);
      const w2 = f64x2.mul(w, w);
      forceX = f64x2.add(forceX, f64x2.mul(w2, dx));
      forceY = f64x2.add(forceY, f64x2.mul(w2, dy));
    }
    store<f64>(repulsion + <usize>(2 * i) * 8, f64x2.extract_lane(forceX, 0) + f64x2.extract_lane(forceX, 1));
    store<f64>(repulsion + <usize>(2 * i + 1) * 8, f64x2.extract_lane(forceY, 0) + f64x2.extract_lane(forceY, 1));
    store<f64>(rowZ + <usize>i * 8, f64x2.extract_lane(z, 0) + f64x2.extract_lane(z, 1));
  }
}
