/**
 * Batched complex FFTs for the interpolation gradient (interpolation.ts): many transforms of one
 * length L at once, along the outer axis of a dense [L][batch] grid, so that every butterfly's
 * inner loop runs over contiguous memory (a 2-D transform is two batched passes with a transpose
 * between). Stockham autosort, radix 4, 2, 3 and 5, so L = 2^a 3^b 5^c (see `fftLength`).
 *
 * The passes run in a WebAssembly SIMD kernel (wasm/fft.ts) over a shared WebAssembly memory that
 * holds the grids, so that every thread of a run works on the same grids through its own
 * instance. Hand-written: the npm FFTs (fft.js, ndarray-fft, ...) transform one sequence at a time
 * in JavaScript, about three times slower on these grids than the batched SIMD passes.
 */
import { wasmModule } from '../../wasmModules.js';

/** One pass: radix r, on sub-sequences of length `span` (r divides it). */
interface Stage {
  radix: 2 | 3 | 4 | 5;
  span: number;
  /** Where its twiddles start in the plan's table (in values). */
  twiddleStart: number;
}

/** The passes of a length-L transform and their twiddle factors. */
export class FftPlan {
  readonly stages: Stage[] = [];
  /**
   * For each pass, for each p < span / radix, cos and -sin of 2 pi p k / span for k = 1 ..
   * radix - 1. The kernel reads them from memory: copy them there with `FftKernel.transform`'s
   * `twiddles` argument.
   */
  readonly twiddles: Float64Array;

  constructor(readonly length: number) {
    const values: number[] = [];
    for (let span = length; span > 1; ) {
      const radix = span % 4 === 0 ? 4 : span % 2 === 0 ? 2 : span % 3 === 0 ? 3 : span % 5 === 0 ? 5 : 0;
      if (radix === 0) throw new RangeError(`FFT length must be 2^a 3^b 5^c, got ${length}`);
      this.stages.push({ radix, span, twiddleStart: values.length });
      for (let p = 0; p < span / radix; p++) {
        for (let k = 1; k < radix; k++) {
          const angle = (2 * Math.PI * p * k) / span;
          values.push(Math.cos(angle), -Math.sin(angle));
        }
      }
      span /= radix;
    }
    this.twiddles = Float64Array.from(values);
  }

  /** Whether a transform leaves its result in the scratch grids (an odd number of passes). */
  get resultInScratch(): boolean {
    return this.stages.length % 2 === 1;
  }
}

/** Twiddle values a plan of length L needs at most (4 L; see FftPlan.twiddles). */
export function twiddleCapacity(length: number): number {
  return 4 * length;
}

interface KernelExports {
  radix2: PassFunction;
  radix3: PassFunction;
  radix4: PassFunction;
  radix5: PassFunction;
  multiplyConjugate(re: number, im: number, spectrum: number, count: number): void;
}
type PassFunction = (span: number, stride: number, twiddles: number, xr: number, xi: number, yr: number, yi: number) => void;

/** The FFT kernel over one shared memory; its grids are Float64Array views of that memory. */
export class FftKernel {
  private readonly kernel: KernelExports;
  private readonly passes: Record<Stage['radix'], PassFunction>;

  constructor(readonly memory: WebAssembly.Memory) {
    this.kernel = new WebAssembly.Instance(wasmModule('fft'), { env: { memory } }).exports as unknown as KernelExports;
    this.passes = { 2: this.kernel.radix2, 3: this.kernel.radix3, 4: this.kernel.radix4, 5: this.kernel.radix5 };
  }

  /**
   * Forward DFTs (exponent -2 pi i jk / L, no scaling) of the `batch` sequences of (re, im) laid
   * out [L][batch] (element t of sequence b at t * batch + b), using the scratch grids (as
   * large) as the other buffer of each pass; `twiddles` holds `plan.twiddles`. Returns the pair
   * of grids that holds the result: the input's or the scratch's (see plan.resultInScratch).
   */
  transform(
    plan: FftPlan,
    twiddles: Float64Array,
    re: Float64Array,
    im: Float64Array,
    batch: number,
    scratchRe: Float64Array,
    scratchIm: Float64Array,
  ): [Float64Array, Float64Array] {
    let from = [re.byteOffset, im.byteOffset];
    let to = [scratchRe.byteOffset, scratchIm.byteOffset];
    // Each element of the running Stockham recursion is `stride` consecutive values.
    let stride = batch;
    for (const stage of plan.stages) {
      this.passes[stage.radix](stage.span, stride, twiddles.byteOffset + 8 * stage.twiddleStart, from[0], from[1], to[0], to[1]);
      stride *= stage.radix;
      [from, to] = [to, from];
    }
    return plan.resultInScratch ? [scratchRe, scratchIm] : [re, im];
  }

  /** re, im <- conj((re + i im) * spectrum) over the first `count` values. */
  multiplyConjugate(re: Float64Array, im: Float64Array, spectrum: Float64Array, count: number): void {
    this.kernel.multiplyConjugate(re.byteOffset, im.byteOffset, spectrum.byteOffset, count);
  }
}

/** The smallest even length 2^a 3^b 5^c (a >= 1) that is at least `minimum`. */
export function fftLength(minimum: number): number {
  for (let length = Math.max(2, Math.ceil(minimum)); ; length++) {
    let rest = length;
    if (rest % 2 !== 0) continue;
    for (const factor of [2, 3, 5]) while (rest % factor === 0) rest /= factor;
    if (rest === 1) return length;
  }
}
