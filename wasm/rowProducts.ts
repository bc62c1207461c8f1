// AssemblyScript source of the PCA's row products (lib/embed/tsne/rowProductsKernel.ts drives it); built
// to dist/wasm/rowProducts.wasm by `npm run build:wasm` (infra/setup.sh runs it).
//
// The features F (n x d f32, row-major) are centred on the fly, c(i, a) = f64(F[i][a]) - mean[a],
// and the kernel computes one BLOCK x BLOCK block of the symmetric products matrix: the
// covariance sum_i c(i, a) c(i, b) over feature pairs (a, b), or (`gram`) the Gram matrix
// sum_a c(i, a) c(j, a) over point pairs (i, j). Each entry is one f64 sum taken in order over the
// shared index (no lane splitting, no fused multiply-add), so it equals the plain float64 loop
// `dot += x * y` bit for bit.
//
// Per DEPTH-long stretch of the shared index, both blocks' centred values are packed into panels
// of 4 output indices ([group][t][4] f64), then a 4 x 4 register tile (eight f64x2 accumulators)
// runs over each pair of groups: one panel's 4 values splatted, the other's read as two vectors.
//
// Around it, for the rest of the PCA: the column means (`means`), the subspace iteration's
// products with the covariance (`multiply`) and the projection on two axes (`project`), all with
// the same in-order f64 sums as the plain loops they replace. No static data: memory above the
// first page is laid out by the caller.

/** Output indices per block side (a multiple of 4). */
const BLOCK: i32 = 64;
/** Shared-index values per packed stretch: two blocks' panels (2 x 128 KiB) stay in L2. */
const DEPTH: i32 = 256;
const GROUPS: i32 = BLOCK / 4;
/** Bytes of one packed group panel over a full stretch. */
const PANEL_BYTES: usize = <usize>DEPTH * 32;

/**
 * Block (blockRow, blockColumn), blockColumn >= blockRow, of the m x m products, m = d (or n
 * when `gram`), into `out` (BLOCK x BLOCK f64, row-major; rows and columns past m are zero). On the
 * diagonal block only the entries with column >= row are computed. `packA` and `packB` each hold
 * GROUPS x DEPTH x 4 f64.
 */
export function block(
  features: usize,
  mean: usize,
  n: i32,
  d: i32,
  gram: bool,
  blockRow: i32,
  blockColumn: i32,
  packA: usize,
  packB: usize,
  out: usize,
): void {
  memory.fill(out, 0, <usize>(BLOCK * BLOCK) * 8);
  const diagonal = blockRow === blockColumn;
  const depth = gram ? d : n;
  const m = gram ? n : d;
  const rowStart = blockRow * BLOCK;
  const columnStart = blockColumn * BLOCK;
  const rowGroups = (min(BLOCK, m - rowStart) + 3) >> 2;
  const columnGroups = (min(BLOCK, m - columnStart) + 3) >> 2;
  const packColumns = diagonal ? packA : packB;
  for (let k0 = 0; k0 < depth; k0 += DEPTH) {
    const length = min(DEPTH, depth - k0);
    pack(features, mean, n, d, gram, rowStart, k0, length, packA);
    if (!diagonal) pack(features, mean, n, d, gram, columnStart, k0, length, packB);
    for (let g = 0; g < rowGroups; g++) {
      const a = packA + <usize>g * PANEL_BYTES;
      const tileRow = out + <usize>(g * 4 * BLOCK) * 8;
      for (let h = diagonal ? g : 0; h < columnGroups; h++) {
        tile(a, packColumns + <usize>h * PANEL_BYTES, length, tileRow + <usize>h * 32);
      }
    }
  }
}

/**
 * Packs the centred values of output indices start .. start + BLOCK - 1 (zero past m) over the
 * shared indices k0 .. k0 + length - 1 into `pack` ([group][t][4] f64).
 */
function pack(features: usize, mean: usize, n: i32, d: i32, gram: bool, start: i32, k0: i32, length: i32, pack: usize): void {
  const m = gram ? n : d;
  for (let g = 0; g < GROUPS; g++) {
    const panel = pack + <usize>g * PANEL_BYTES;
    const first = start + g * 4;
    if (first + 4 <= m) {
      if (gram) {
        // Points first .. first + 3, features k0 ..: four rows read side by side.
        const r0 = features + <usize>first * <usize>d * 4;
        const rowBytes = <usize>d * 4;
        for (let t = 0; t < length; t++) {
          const a = k0 + t;
          const mu = load<f64>(mean + <usize>a * 8);
          const at = r0 + <usize>a * 4;
          const p = panel + <usize>t * 32;
          store<f64>(p, <f64>load<f32>(at) - mu);
          store<f64>(p + 8, <f64>load<f32>(at + rowBytes) - mu);
          store<f64>(p + 16, <f64>load<f32>(at + 2 * rowBytes) - mu);
          store<f64>(p + 24, <f64>load<f32>(at + 3 * rowBytes) - mu);
        }
      } else {
        // Features first .. first + 3 of points k0 ..: four adjacent f32 of each row.
        const mu01 = v128.load(mean + <usize>first * 8);
        const mu23 = v128.load(mean + <usize>first * 8 + 16);
        for (let t = 0; t < length; t++) {
          const x = v128.load64_zero(features + (<usize>(k0 + t) * <usize>d + <usize>first) * 4);
          const x23 = v128.load64_zero(features + (<usize>(k0 + t) * <usize>d + <usize>first + 2) * 4);
          const p = panel + <usize>t * 32;
          v128.store(p, f64x2.sub(f64x2.promote_low_f32x4(x), mu01));
          v128.store(p + 16, f64x2.sub(f64x2.promote_low_f32x4(x23), mu23));
        }
      }
    } else {
      // The last, partial group (or one wholly past m): zeros past m.
      for (let t = 0; t < length; t++) {
        const p = panel + <usize>t * 32;
        for (let j = 0; j < 4; j++) {
          const index = first + j;
          let value: f64 = 0;
          if (index < m) {
            value = gram
              ? <f64>load<f32>(features + (<usize>index * <usize>d + <usize>(k0 + t)) * 4) - load<f64>(mean + <usize>(k0 + t) * 8)
              : <f64>load<f32>(features + (<usize>(k0 + t) * <usize>d + <usize>index) * 4) - load<f64>(mean + <usize>index * 8);
          }
          store<f64>(p + <usize>j * 8, value);
        }
      }
    }
  }
}

/**
 * out[r][c] += sum_t a[t][r] b[t][c] for r, c < 4 (out's rows BLOCK f64 apart), in order of t.
 */
function tile(a: usize, b: usize, length: i32, out: usize): void {
  const rowBytes: usize = <usize>BLOCK * 8;
  const o1 = out + rowBytes;
  const o2 = o1 + rowBytes;
  const o3 = o2 + rowBytes;
  let s00 = v128.load(out);
  let s01 = v128.load(out + 16);
  let s10 = v128.load(o1);
  let s11 = v128.load(o1 + 16);
  let s20 = v128.load(o2);
  let s21 = v128.load(o2 + 16);
  let s30 = v128.load(o3);
  let s31 = v128.load(o3 + 16);
  const end = a + <usize>length * 32;
  for (; a < end; a += 32, b += 32) {
    const b0 = v128.load(b);
    const b1 = v128.load(b + 16);
    const a0 = v128.load64_splat(a);
    s00 = f64x2.add(s00, f64x2.mul(a0, b0));
    s01 = f64x2.add(s01, f64x2.mul(a0, b1));
    const a1 = v128.load64_splat(a + 8);
    s10 = f64x2.add(s10, f64x2.mul(a1, b0));
    s11 = f64x2.add(s11, f64x2.mul(a1, b1));
    const a2 = v128.load64_splat(a + 16);
    s20 = f64x2.add(s20, f64x2.mul(a2, b0));
    s21 = f64x2.add(s21, f64x2.mul(a2, b1));
    const a3 = v128.load64_splat(a + 24);
    s30 = f64x2.add(s30, f64x2.mul(a3, b0));
    s31 = f64x2.add(s31, f64x2.mul(a3, b1));
  }
  v128.store(out, s00);
  v128.store(out + 16, s01);
  v128.store(o1, s10);
  v128.store(o1 + 16, s11);
  v128.store(o2, s20);
  v128.store(o2 + 16, s21);
  v128.store(o3, s30);
  v128.store(o3 + 16, s31);
}

/**
 * image = s basis for the symmetric m x m `s` (row-major f64) and an m x width block (`basis`,
 * `image`: row-major f64, width even), each entry summed in order over s's columns.
 */
export function multiply(s: usize, m: i32, basis: usize, width: i32, image: usize): void {
  const rowBytes = <usize>width * 8;
  const sRowBytes = <usize>m * 8;
  if (width === 16) {
    for (let r = 0; r < m; r++) {
      let i0 = f64x2.splat(0);
      let i1 = f64x2.splat(0);
      let i2 = f64x2.splat(0);
      let i3 = f64x2.splat(0);
      let i4 = f64x2.splat(0);
      let i5 = f64x2.splat(0);
      let i6 = f64x2.splat(0);
      let i7 = f64x2.splat(0);
      const sRow = s + <usize>r * sRowBytes;
      let b = basis;
      for (let c: usize = 0; c < sRowBytes; c += 8, b += 128) {
        const e = v128.load64_splat(sRow + c);
        i0 = f64x2.add(i0, f64x2.mul(e, v128.load(b)));
        i1 = f64x2.add(i1, f64x2.mul(e, v128.load(b + 16)));
        i2 = f64x2.add(i2, f64x2.mul(e, v128.load(b + 32)));
        i3 = f64x2.add(i3, f64x2.mul(e, v128.load(b + 48)));
        i4 = f64x2.add(i4, f64x2.mul(e, v128.load(b + 64)));
        i5 = f64x2.add(i5, f64x2.mul(e, v128.load(b + 80)));
        i6 = f64x2.add(i6, f64x2.mul(e, v128.load(b + 96)));
        i7 = f64x2.add(i7, f64x2.mul(e, v128.load(b + 112)));
      }
      const out = image + <usize>r * 128;
      v128.store(out, i0);
      v128.store(out + 16, i1);
      v128.store(out + 32, i2);
      v128.store(out + 48, i3);
      v128.store(out + 64, i4);
      v128.store(out + 80, i5);
      v128.store(out + 96, i6);
      v128.store(out + 112, i7);
    }
    return;
  }
  memory.fill(image, 0, <usize>m * rowBytes);
  for (let r = 0; r < m; r++) {
    const sRow = s + <usize>r * sRowBytes;
    const out = image + <usize>r * rowBytes;
    for (let c = 0; c < m; c++) {
      const e = v128.load64_splat(sRow + <usize>c * 8);
      const b = basis + <usize>c * rowBytes;
      for (let j: usize = 0; j < rowBytes; j += 16) v128.store(out + j, f64x2.add(v128.load(out + j), f64x2.mul(e, v128.load(b + j))));
    }
  }
}

/** mean[a] = (sum over i, in order, of f64(F[i][a])) / n, for the n x d `features`. */
export function means(features: usize, n: i32, d: i32, mean: usize): void {
  memory.fill(mean, 0, <usize>d * 8);
  const pairs = d & ~1;
  for (let i = 0; i < n; i++) {
    const row = features + <usize>i * <usize>d * 4;
    for (let a = 0; a < pairs; a += 2) {
      const at = mean + <usize>a * 8;
      v128.store(at, f64x2.add(v128.load(at), f64x2.promote_low_f32x4(v128.load64_zero(row + <usize>a * 4))));
    }
    if (pairs < d) {
      const at = mean + <usize>pairs * 8;
      store<f64>(at, load<f64>(at) + <f64>load<f32>(row + <usize>pairs * 4));
    }
  }
  for (let a = 0; a < d; a++) store<f64>(mean + <usize>a * 8, load<f64>(mean + <usize>a * 8) / <f64>n);
}

/**
 * out[i] = (sum over a, in order, of c(i, a) axes[a]) for the centred features c (n x d) and two
 * axes given as d pairs (first axis, second axis): out is n pairs, row-major.
 */
export function project(features: usize, mean: usize, n: i32, d: i32, axes: usize, out: usize): void {
  const pairs = d & ~1;
  for (let i = 0; i < n; i++) {
    const row = features + <usize>i * <usize>d * 4;
    let score = f64x2.splat(0);
    for (let a = 0; a < pairs; a += 2) {
      const centred = f64x2.sub(f64x2.promote_low_f32x4(v128.load64_zero(row + <usize>a * 4)), v128.load(mean + <usize>a * 8));
      const axis = axes + <usize>a * 16;
      score = f64x2.add(score, f64x2.mul(f64x2.splat(f64x2.extract_lane(centred, 0)), v128.load(axis)));
      score = f64x2.add(score, f64x2.mul(f64x2.splat(f64x2.extract_lane(centred, 1)), v128.load(axis + 16)));
    }
    if (pairs < d) {
      const centred = <f64>load<f32>(row + <usize>pairs * 4) - load<f64>(mean + <usize>pairs * 8);
      score = f64x2.add(score, f64x2.mul(f64x2.splat(centred), v128.load(axes + <usize>pairs * 16)));
    }
    v128.store(out + <usize>i * 16, score);
  }
}
