// AssemblyScript source of the batched FFT's passes (lib/embed/tsne/fft.ts drives them); built to
// dist/wasm/fft.wasm by `npm run build:wasm` (infra/setup.sh runs it). The memory is imported and
// shared: the interpolation gradient's grids live in it, and every thread of a t-SNE run has its
// own instance over the same memory.
//
// A pass of radix r over a Stockham stage of `span`: with m = span / r, elements p + j m of x
// (j < r), each `stride` consecutive f64 (real and imaginary parts in separate grids), make
// elements r p + k of y, times the twiddles w^(p k) (cos and -sin, (r - 1) pairs per p). Two
// values at a time in f64x2 lanes; an odd stride's last value goes through the same code as a
// single lane.

const SQRT3_HALF: f64 = 0.8660254037844386;
const COS1: f64 = 0.30901699437494745;
const COS2: f64 = -0.8090169943749473;
const SIN1: f64 = 0.9510565162951535;
const SIN2: f64 = 0.5877852522924732;

/** Loads two lanes, or one (the other zero) at an odd stride's end: no read past the grid. */
function load2(address: usize, single: bool): v128 {
  return single ? f64x2.splat(load<f64>(address)) : v128.load(address);
}

function store2(address: usize, value: v128, single: bool): void {
  if (single) store<f64>(address, f64x2.extract_lane(value, 0));
  else v128.store(address, value);
}

export function radix2(span: i32, stride: i32, twiddles: usize, xr: usize, xi: usize, yr: usize, yi: usize): void {
  const m = span / 2;
  const step = <usize>stride * 8;
  for (let p = 0; p < m; p++) {
    const wr = f64x2.splat(load<f64>(twiddles + <usize>(2 * p) * 8));
    const wi = f64x2.splat(load<f64>(twiddles + <usize>(2 * p + 1) * 8));
    const a = <usize>p * step;
    const b = a + <usize>m * step;
    const out0 = <usize>(2 * p) * step;
    const out1 = out0 + step;
    for (let u = 0; u < stride; u += 2) {
      const single = u + 1 === stride;
      const offset = <usize>u * 8;
      const ar = load2(xr + a + offset, single);
      const ai = load2(xi + a + offset, single);
      const br = load2(xr + b + offset, single);
      const bi = load2(xi + b + offset, single);
      store2(yr + out0 + offset, f64x2.add(ar, br), single);
      store2(yi + out0 + offset, f64x2.add(ai, bi), single);
      const dr = f64x2.sub(ar, br);
      const di = f64x2.sub(ai, bi);
      store2(yr + out1 + offset, f64x2.sub(f64x2.mul(dr, wr), f64x2.mul(di, wi)), single);
      store2(yi + out1 + offset, f64x2.add(f64x2.mul(dr, wi), f64x2.mul(di, wr)), single);
    }
  }
}

export function radix3(span: i32, stride: i32, twiddles: usize, xr: usize, xi: usize, yr: usize, yi: usize): void {
  const m = span / 3;
  const step = <usize>stride * 8;
  const half = f64x2.splat(0.5);
  const root = f64x2.splat(SQRT3_HALF);
  for (let p = 0; p < m; p++) {
    const w = twiddles + <usize>(4 * p) * 8;
    const w1r = f64x2.splat(load<f64>(w));
    const w1i = f64x2.splat(load<f64>(w + 8));
    const w2r = f64x2.splat(load<f64>(w + 16));
    const w2i = f64x2.splat(load<f64>(w + 24));
    const a = <usize>p * step;
    const b = a + <usize>m * step;
    const c = b + <usize>m * step;
    const out0 = <usize>(3 * p) * step;
    for (let u = 0; u < stride; u += 2) {
      const single = u + 1 === stride;
      const offset = <usize>u * 8;
      const ar = load2(xr + a + offset, single);
      const ai = load2(xi + a + offset, single);
      const br = load2(xr + b + offset, single);
      const bi = load2(xi + b + offset, single);
      const cr = load2(xr + c + offset, single);
      const ci = load2(xi + c + offset, single);
      const sumR = f64x2.add(br, cr);
      const sumI = f64x2.add(bi, ci);
      const midR = f64x2.sub(ar, f64x2.mul(sumR, half));
      const midI = f64x2.sub(ai, f64x2.mul(sumI, half));
      // -i sqrt(3)/2 (b - c)
      const rotR = f64x2.mul(root, f64x2.sub(bi, ci));
      const rotI = f64x2.mul(root, f64x2.sub(cr, br));
      store2(yr + out0 + offset, f64x2.add(ar, sumR), single);
      store2(yi + out0 + offset, f64x2.add(ai, sumI), single);
      twiddle(f64x2.add(midR, rotR), f64x2.add(midI, rotI), w1r, w1i, yr + out0 + step + offset, yi + out0 + step + offset, single);
      twiddle(f64x2.sub(midR, rotR), f64x2.sub(midI, rotI), w2r, w2i, yr + out0 + 2 * step + offset, yi + out0 + 2 * step + offset, single);
    }
  }
}

export function radix4(span: i32, stride: i32, twiddles: usize, xr: usize, xi: usize, yr: usize, yi: usize): void {
  const m = span / 4;
  const step = <usize>stride * 8;
  const quarter = <usize>m * step;
  for (let p = 0; p < m; p++) {
    const w = twiddles + <usize>(6 * p) * 8;
    const w1r = f64x2.splat(load<f64>(w));
    const w1i = f64x2.splat(load<f64>(w + 8));
    const w2r = f64x2.splat(load<f64>(w + 16));
    const w2i = f64x2.splat(load<f64>(w + 24));
    const w3r = f64x2.splat(load<f64>(w + 32));
    const w3i = f64x2.splat(load<f64>(w + 40));
    const a = <usize>p * step;
    const out0 = <usize>(4 * p) * step;
    for (let u = 0; u < stride; u += 2) {
      const single = u + 1 === stride;
      const offset = <usize>u * 8;
      const ar = load2(xr + a + offset, single);
      const ai = load2(xi + a + offset, single);
      const br = load2(xr + a + quarter + offset, single);
      const bi = load2(xi + a + quarter + offset, single);
      const cr = load2(xr + a + 2 * quarter + offset, single);
      const ci = load2(xi + a + 2 * quarter + offset, single);
      const dr = load2(xr + a + 3 * quarter + offset, single);
      const di = load2(xi + a + 3 * quarter + offset, single);
      const sumAcR = f64x2.add(ar, cr);
      const sumAcI = f64x2.add(ai, ci);
      const diffAcR = f64x2.sub(ar, cr);
      const diffAcI = f64x2.sub(ai, ci);
      const sumBdR = f64x2.add(br, dr);
      const sumBdI = f64x2.add(bi, di);
      // -i (b - d)
      const rotR = f64x2.sub(bi, di);
      const rotI = f64x2.sub(dr, br);
      store2(yr + out0 + offset, f64x2.add(sumAcR, sumBdR), single);
      store2(yi + out0 + offset, f64x2.add(sumAcI, sumBdI), single);
      twiddle(f64x2.add(diffAcR, rotR), f64x2.add(diffAcI, rotI), w1r, w1i, yr + out0 + step + offset, yi + out0 + step + offset, single);
      twiddle(
        f64x2.sub(sumAcR, sumBdR),
        f64x2.sub(sumAcI, sumBdI),
        w2r,
        w2i,
        yr + out0 + 2 * step + offset,
        yi + out0 + 2 * step + offset,
        single,
      );
      twiddle(
        f64x2.sub(diffAcR, rotR),
        f64x2.sub(diffAcI, rotI),
        w3r,
        w3i,
        yr + out0 + 3 * step + offset,
        yi + out0 + 3 * step + offset,
        single,
      );
    }
  }
}

export function radix5(span: i32, stride: i32, twiddles: usize, xr: usize, xi: usize, yr: usize, yi: usize): void {
  const m = span / 5;
  const step = <usize>stride * 8;
  const fifth = <usize>m * step;
  const cos1 = f64x2.splat(COS1);
  const cos2 = f64x2.splat(COS2);
  const sin1 = f64x2.splat(SIN1);
  const sin2 = f64x2.splat(SIN2);
  for (let p = 0; p < m; p++) {
    const w = twiddles + <usize>(8 * p) * 8;
    const a = <usize>p * step;
    const out0 = <usize>(5 * p) * step;
    for (let u = 0; u < stride; u += 2) {
      const single = u + 1 === stride;
      const offset = <usize>u * 8;
      const ar = load2(xr + a + offset, single);
      const ai = load2(xi + a + offset, single);
      const br = load2(xr + a + fifth + offset, single);
      const bi = load2(xi + a + fifth + offset, single);
      const cr = load2(xr + a + 2 * fifth + offset, single);
      const ci = load2(xi + a + 2 * fifth + offset, single);
      const dr = load2(xr + a + 3 * fifth + offset, single);
      const di = load2(xi + a + 3 * fifth + offset, single);
      const er = load2(xr + a + 4 * fifth + offset, single);
      const ei = load2(xi + a + 4 * fifth + offset, single);
      const sumBeR = f64x2.add(br, er);
      const sumBeI = f64x2.add(bi, ei);
      const sumCdR = f64x2.add(cr, dr);
      const sumCdI = f64x2.add(ci, di);
      const diffBeR = f64x2.sub(br, er);
      const diffBeI = f64x2.sub(bi, ei);
      const diffCdR = f64x2.sub(cr, dr);
      const diffCdI = f64x2.sub(ci, di);
      store2(yr + out0 + offset, f64x2.add(ar, f64x2.add(sumBeR, sumCdR)), single);
      store2(yi + out0 + offset, f64x2.add(ai, f64x2.add(sumBeI, sumCdI)), single);
      const mid1R = f64x2.add(ar, f64x2.add(f64x2.mul(cos1, sumBeR), f64x2.mul(cos2, sumCdR)));
      const mid1I = f64x2.add(ai, f64x2.add(f64x2.mul(cos1, sumBeI), f64x2.mul(cos2, sumCdI)));
      const mid2R = f64x2.add(ar, f64x2.add(f64x2.mul(cos2, sumBeR), f64x2.mul(cos1, sumCdR)));
      const mid2I = f64x2.add(ai, f64x2.add(f64x2.mul(cos2, sumBeI), f64x2.mul(cos1, sumCdI)));
      // -i (s1 (b - e) + s2 (c - d)) and -i (s2 (b - e) - s1 (c - d))
      const rot1R = f64x2.add(f64x2.mul(sin1, diffBeI), f64x2.mul(sin2, diffCdI));
      const rot1I = f64x2.neg(f64x2.add(f64x2.mul(sin1, diffBeR), f64x2.mul(sin2, diffCdR)));
      const rot2R = f64x2.sub(f64x2.mul(sin2, diffBeI), f64x2.mul(sin1, diffCdI));
      const rot2I = f64x2.neg(f64x2.sub(f64x2.mul(sin2, diffBeR), f64x2.mul(sin1, diffCdR)));
      const at = out0 + offset;
      twiddle(f64x2.add(mid1R, rot1R), f64x2.add(mid1I, rot1I), splatAt(w, 0), splatAt(w, 1), yr + at + step, yi + at + step, single);
      twiddle(
        f64x2.add(mid2R, rot2R),
        f64x2.add(mid2I, rot2I),
        splatAt(w, 2),
        splatAt(w, 3),
        yr + at + 2 * step,
        yi + at + 2 * step,
        single,
      );
      twiddle(
        f64x2.sub(mid2R, rot2R),
        f64x2.sub(mid2I, rot2I),
        splatAt(w, 4),
        splatAt(w, 5),
        yr + at + 3 * step,
        yi + at + 3 * step,
        single,
      );
      twiddle(
        f64x2.sub(mid1R, rot1R),
        f64x2.sub(mid1I, rot1I),
        splatAt(w, 6),
        splatAt(w, 7),
        yr + at + 4 * step,
        yi + at + 4 * step,
        single,
      );
    }
  }
}

function splatAt(base: usize, index: i32): v128 {
  return f64x2.splat(load<f64>(base + <usize>index * 8));
}

/** Stores (tr + i ti)(wr + i wi). */
function twiddle(tr: v128, ti: v128, wr: v128, wi: v128, yr: usize, yi: usize, single: bool): void {
  store2(yr, f64x2.sub(f64x2.mul(tr, wr), f64x2.mul(ti, wi)), single);
  store2(yi, f64x2.add(f64x2.mul(tr, wi), f64x2.mul(ti, wr)), single);
}

/** re, im <- (re, -im) * spectrum over `count` values (a product then a conjugate, for an inverse by a forward transform). */
export function multiplyConjugate(re: usize, im: usize, spectrum: usize, count: i32): void {
  for (let t = 0; t < count; t += 2) {
    const single = t + 1 === count;
    const offset = <usize>t * 8;
    const s = load2(spectrum + offset, single);
    store2(re + offset, f64x2.mul(load2(re + offset, single), s), single);
    store2(im + offset, f64x2.neg(f64x2.mul(load2(im + offset, single), s)), single);
  }
}
