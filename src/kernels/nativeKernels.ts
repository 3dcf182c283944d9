/**
 * Plugs the optional native addon `mechinterp-native-gemm` into TensorFlow.js's wasm and cpu
 * backends: BatchMatMul and _FusedMatMul (with a bias) go to cblas_sgemm from OpenBLAS or
 * Accelerate, or to the addon's portable cache-blocked SGEMM where neither was found, multi-threaded; Transpose and Slice copy tiles and rows natively; and fused kernels
 * (GPT-2's GELU, LayerNorm, causal attention, weight centring) are registered under this package's
 * own kernel names (see model/fusedOps.ts, which falls back to plain tf ops).
 *
 * Why: tfjs-backend-wasm multiplies on one thread in Node (XNNPACK without a thread pool) and falls
 * back to a naive loop for batched or transposed operands, which is what attention uses; the cpu
 * backend is plain JavaScript. The addon reads and writes the backends' own memory (the wasm heap
 * or the cpu backend's Float32Arrays), so no tensor is copied.
 *
 * Anything the native path does not handle (other dtypes, broadcasting beyond a batch of 1, fused
 * activations) goes to the backend's original kernel, so results never depend on the addon being
 * present, only speed does.
 */
import * as path from "path";
import * as tf from "@tensorflow/tfjs";

interface NativeGemm {
  sgemm(
    a: ArrayBufferLike | Float32Array, aOffset: number,
    b: ArrayBufferLike | Float32Array, bOffset: number,
    out: ArrayBufferLike | Float32Array, outOffset: number,
    batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number,
    bias: ArrayBufferLike | Float32Array | null, biasOffset: number
  ): void;
  geluNew(x: Buf, xOffset: number, out: Buf, outOffset: number, n: number): void;
  layerNorm(
    x: Buf, xOffset: number, rows: number, d: number, eps: number,
    w: Buf | null, wOffset: number, b: Buf | null, bOffset: number,
    scale: Buf, scaleOffset: number, normalized: Buf, normalizedOffset: number
  ): void;
  transpose(src: Buf, srcOffset: number, shape: number[], perm: number[], dst: Buf, dstOffset: number): boolean;
  slice(src: Buf, srcOffset: number, shape: number[], begin: number[], size: number[], dst: Buf, dstOffset: number): boolean;
  centerRows(x: Buf, xOffset: number, rows: number, n: number, out: Buf, outOffset: number): void;
  scaleCenterColumns(w: Buf, wOffset: number, groups: number, rows: number, cols: number, scale: Buf | null, scaleOffset: number, center: boolean, out: Buf, outOffset: number): void;
  /** Which BLAS the build linked ("none": portable kernel only) and which multiply runs now. */
  gemmInfo?(): { blas: string; kernel: "blas" | "portable" };
  causalAttention(
    q: Buf, qOffset: number, k: Buf, kOffset: number, matrices: number, pos: number, dHead: number, divisor: number,
    scores: Buf | null, scoresOffset: number, pattern: Buf, patternOffset: number
  ): void;
}
type Buf = ArrayBufferLike | Float32Array;

/** Kernel names this package registers (not tfjs's). */
export const GELU_NEW_KERNEL = "MechinterpGeluNew";
export const LAYER_NORM_KERNEL = "MechinterpLayerNorm";
export const CAUSAL_ATTENTION_KERNEL = "MechinterpCausalAttention";
export const CENTER_ROWS_KERNEL = "MechinterpCenterRows";
export const SCALE_CENTER_COLUMNS_KERNEL = "MechinterpScaleCenterColumns";

let addon: NativeGemm | null | undefined;
/** Off: every registered native kernel defers to tfjs (for comparisons and tests); see setNativeKernelsEnabled. */
let enabled = true;
let addonError: { reason: string; fix: string } | undefined;

/** The addon, or null when it is not built (the reason is in nativeKernelsStatus()). */
function loadAddon(): NativeGemm | null {
  if (addon === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      addon = require("mechinterp-native-gemm") as NativeGemm;
    } catch (err) {
      addon = null;
      addonError = explainLoadError(err as NodeJS.ErrnoException);
    }
  }
  return addon;
}

type Operand = { data: ArrayBufferLike | Float32Array; offset: number };
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs: Record<string, unknown> };
type TensorInfo = { dataId: object; shape: number[]; dtype: tf.DataType };

/** How one backend exposes tensor memory to the addon. */
interface MemoryAccess {
  operand(backend: unknown, t: TensorInfo): Operand;
  /** Allocates the output; `memory()` must be called after all allocations (the wasm heap may move). */
  output(backend: unknown, shape: number[]): { info: TensorInfo; operand: () => Operand };
}

const wasmAccess: MemoryAccess = {
  operand(backend, t) {
    const be = backend as { dataIdMap: { get(id: object): { memoryOffset: number } }; wasm: { HEAPU8: Uint8Array } };
    return { data: be.wasm.HEAPU8.buffer, offset: be.dataIdMap.get(t.dataId).memoryOffset / 4 };
  },
  output(backend, shape) {
    const be = backend as { makeOutput(shape: number[], dtype: string): TensorInfo };
    const info = be.makeOutput(shape, "float32");
    return { info, operand: () => wasmAccess.operand(backend, info) };
  },
};

const cpuAccess: MemoryAccess = {
  operand(backend, t) {
    const be = backend as { data: { get(id: object): { values: Float32Array } } };
    return { data: be.data.get(t.dataId).values, offset: 0 };
  },
  output(backend, shape) {
    const be = backend as { makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo };
    const values = new Float32Array(shape.reduce((x, y) => x * y, 1));
    const info = be.makeTensorInfo(shape, "float32", values);
    return { info, operand: () => ({ data: values, offset: 0 }) };
  },
};

const ACCESS: Record<string, MemoryAccess> = { wasm: wasmAccess, cpu: cpuAccess };

/** Native multiply, or undefined when this case is left to the original kernel. */
function nativeMatMul(
  gemm: NativeGemm,
  access: MemoryAccess,
  backend: unknown,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias?: TensorInfo
): TensorInfo | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kB) return undefined; // let the original kernel raise its own error
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((x, y) => x * y, 1);
  const batchB = outerB.reduce((x, y) => x * y, 1);
  const same = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  let outer: number[];
  if (same) outer = outerA;
  else if (batchB === 1 && outerB.length <= outerA.length) outer = outerA; // b broadcast over a's batch
  else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
  else return undefined;
  if (bias && !(bias.dtype === "float32" && bias.shape.reduce((x, y) => x * y, 1) === n && bias.shape.every((d, i) => i === bias.shape.length - 1 || d === 1))) {
    return undefined;
  }
  const batch = Math.max(batchA, batchB);
  const out = access.output(backend, [...outer, m, n]);
  const A = access.operand(backend, a);
  const B = access.operand(backend, b);
  const O = out.operand();
  const C = bias ? access.operand(backend, bias) : undefined;
  gemm.sgemm(
    A.data, A.offset, B.data, B.offset, O.data, O.offset,
    batch, m, n, k, transposeA, transposeB,
    batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n,
    C ? C.data : null, C ? C.offset : 0
  );
  return out.info;
}

/** Registers the fused elementwise kernels for one backend. */
function registerFusedKernels(gemm: NativeGemm, access: MemoryAccess, backendName: string): void {
  tf.registerKernel({
    kernelName: GELU_NEW_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as unknown as TensorInfo;
      const out = access.output(backend, [...x.shape]);
      const X = access.operand(backend, x);
      const O = out.operand();
      gemm.geluNew(X.data, X.offset, O.data, O.offset, x.shape.reduce((a, b) => a * b, 1));
      return out.info as never;
    },
  });
  tf.registerKernel({
    kernelName: LAYER_NORM_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, b } = inputs as unknown as { x: TensorInfo; w?: TensorInfo; b?: TensorInfo };
      const d = x.shape[x.shape.length - 1];
      const rows = x.shape.reduce((p, q) => p * q, 1) / d;
      const scale = access.output(backend, [...x.shape.slice(0, -1), 1]);
      const normalized = access.output(backend, [...x.shape]);
      const X = access.operand(backend, x);
      const W = w ? access.operand(backend, w) : undefined;
      const B = b ? access.operand(backend, b) : undefined;
      const S = scale.operand();
      const N = normalized.operand();
      gemm.layerNorm(X.data, X.offset, rows, d, (attrs as { eps: number }).eps, W?.data ?? null, W?.offset ?? 0, B?.data ?? null, B?.offset ?? 0, S.data, S.offset, N.data, N.offset);
      return [scale.info, normalized.info] as never;
    },
  });
  tf.registerKernel({
    kernelName: CAUSAL_ATTENTION_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { q, k } = inputs as unknown as { q: TensorInfo; k: TensorInfo };
      const { divisor, withScores } = attrs as unknown as { divisor: number; withScores: boolean };
      const [matrices, pos, dHead] = q.shape;
      const scores = withScores ? access.output(backend, [matrices, pos, pos]) : undefined;
      const pattern = access.output(backend, [matrices, pos, pos]);
      const Q = access.operand(backend, q);
      const K = access.operand(backend, k);
      const S = scores?.operand();
      const P = pattern.operand();
      gemm.causalAttention(Q.data, Q.offset, K.data, K.offset, matrices, pos, dHead, divisor, S?.data ?? null, S?.offset ?? 0, P.data, P.offset);
      return (scores ? [scores.info, pattern.info] : [pattern.info]) as never;
    },
  });
  tf.registerKernel({
    kernelName: CENTER_ROWS_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as unknown as TensorInfo;
      const n = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1];
      const out = access.output(backend, [...x.shape]);
      const X = access.operand(backend, x);
      const O = out.operand();
      gemm.centerRows(X.data, X.offset, x.shape.reduce((a, b) => a * b, 1) / n, n, O.data, O.offset);
      return out.info as never;
    },
  });
  tf.registerKernel({
    kernelName: SCALE_CENTER_COLUMNS_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { w, scale } = inputs as unknown as { w: TensorInfo; scale?: TensorInfo };
      const [groups, rows, cols] = w.shape;
      const out = access.output(backend, [...w.shape]);
      const W = access.operand(backend, w);
      const S = scale ? access.operand(backend, scale) : undefined;
      const O = out.operand();
      gemm.scaleCenterColumns(W.data, W.offset, groups, rows, cols, S?.data ?? null, S?.offset ?? 0, (attrs as { center: boolean }).center, O.data, O.offset);
      return out.info as never;
    },
  });
}

const installed = new Set<string>();

/**
 * Replaces BatchMatMul and _FusedMatMul on `backendName` ("wasm" or "cpu") with the native path
 * and registers the fused kernels, when the addon is available. Idempotent. Returns whether the
 * native kernels are active.
 */
export function installNativeKernels(backendName: string): boolean {
  if (installed.has(backendName)) return true;
  const gemm = loadAddon();
  const access = ACCESS[backendName];
  if (!gemm || !access) return false;
  const override = (kernelName: string, native: (args: KernelArgs) => TensorInfo | undefined) => {
    const original = tf.getKernel(kernelName, backendName);
    if (!original) return;
    tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => ((enabled ? native(args as unknown as KernelArgs) : undefined) ?? original.kernelFunc(args)) as ReturnType<typeof original.kernelFunc>,
    });
  };
  for (const kernelName of [tf.BatchMatMul, tf._FusedMatMul]) {
    override(kernelName, ({ inputs, backend, attrs }) => {
      const { a, b, bias, preluActivationWeights } = inputs;
      if (kernelName === tf.BatchMatMul) return nativeMatMul(gemm, access, backend, a, b, !!attrs.transposeA, !!attrs.transposeB);
      if ((attrs.activation ?? "linear") !== "linear" || preluActivationWeights) return undefined;
      return nativeMatMul(gemm, access, backend, a, b, !!attrs.transposeA, !!attrs.transposeB, bias);
    });
  }
  // tfjs-backend-wasm transposes and slices with generic index arithmetic per element; these copy
  // tiles or whole rows (e.g. W_U's [50257, 768] transpose at load: 0.85 s → a few tens of ms).
  override(tf.Transpose, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const perm = attrs.perm as number[];
    if (x.dtype !== "float32" || x.shape.length > 4 || x.shape.length < 2) return undefined;
    const out = access.output(backend, perm.map((p) => x.shape[p]));
    const X = access.operand(backend, x);
    const O = out.operand();
    if (gemm.transpose(X.data, X.offset, [...x.shape], [...perm], O.data, O.offset)) return out.info;
    (backend as { disposeData(id: object): void }).disposeData(out.info.dataId);
    return undefined;
  });
  override(tf.Slice, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (x.dtype !== "float32" || x.shape.length > 4 || x.shape.length < 1) return undefined;
    const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
    if (size.some((d) => d === 0)) return undefined;
    const out = access.output(backend, size);
    const X = access.operand(backend, x);
    const O = out.operand();
    gemm.slice(X.data, X.offset, [...x.shape], begin, size, O.data, O.offset);
    return out.info;
  });
  registerFusedKernels(gemm, access, backendName);
  installed.add(backendName);
  return true;
}

/**
 * Switches the native kernels off (tfjs's own matmul; fused ops composed from tf ops) or back on,
 * process-wide. For benchmarks and tests that compare both paths; results agree to float32 precision.
 */
export function setNativeKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** Whether native kernels are installed for `backendName` and switched on. */
export function nativeKernelsActive(backendName: string): boolean {
  return enabled && installed.has(backendName);
}

/** What nativeKernelsStatus() reports. */
export interface NativeKernelsStatus {
  /** Whether the addon loaded. */
  available: boolean;
  /** The BLAS it was built with: "openblas", "accelerate", or "none" (our portable kernel only). */
  blas?: string;
  /** The matrix multiply it runs now: the BLAS's, or the portable cache-blocked one. */
  gemmKernel?: "blas" | "portable";
  /** When not available: why, in one line. */
  reason?: string;
  /** When not available: the one command (run in the package's folder) that builds it. */
  fix?: string;
}

/** For "Using device" lines and the benchmark: whether the native kernels are available, which, and why not. */
export function nativeKernelsStatus(): NativeKernelsStatus {
  const gemm = loadAddon();
  if (!gemm) return { available: false, ...addonError };
  // Builds from before the portable kernel lack gemmInfo; they always linked a BLAS.
  const info = typeof gemm.gemmInfo === "function" ? gemm.gemmInfo() : { blas: process.platform === "darwin" ? "accelerate" : "openblas", kernel: "blas" as const };
  return { available: true, blas: info.blas, gemmKernel: info.kernel };
}

/** "OpenBLAS", "Accelerate" or "portable SGEMM": which multiply the native kernels use. */
export function nativeGemmLabel(status: NativeKernelsStatus = nativeKernelsStatus()): string {
  if (status.gemmKernel === "portable") return "portable SGEMM";
  return status.blas === "accelerate" ? "Accelerate" : "OpenBLAS";
}

/** The folder holding this package's package.json, where `npm rebuild` must run. */
const PACKAGE_ROOT = path.resolve(__dirname, "..", "..", "..");

/** Turns require()'s error into a plain reason and the command that fixes it. */
function explainLoadError(err: NodeJS.ErrnoException): { reason: string; fix: string } {
  const first = err.message.split("\n")[0];
  const rebuild = `npm rebuild mechinterp-native-gemm (in ${PACKAGE_ROOT})`;
  if (err.code === "MODULE_NOT_FOUND" && first.includes("'mechinterp-native-gemm'")) {
    return { reason: "the optional package mechinterp-native-gemm is not installed (npm left it out after a failed build)", fix: `npm install (in ${PACKAGE_ROOT})` };
  }
  if (err.code === "MODULE_NOT_FOUND" && first.includes("mechinterp_gemm.node")) {
    return { reason: "the addon in native/ was never built (npm skipped or could not run its install script)", fix: rebuild };
  }
  return { reason: `the addon failed to load (${first})`, fix: rebuild };
}

let warned = false;

/**
 * Says once per process, on stderr, that the native kernels are missing, why, and the command that
 * builds them. Called by initBackend when it picks wasm or cpu and the addon did not load.
 */
export function warnNativeKernelsMissing(): void {
  const status = nativeKernelsStatus();
  if (warned || status.available) return;
  warned = true;
  process.stderr.write(
    `mechinterp-ts: native kernels not loaded: ${status.reason}. Matrix multiplies fall back to TensorFlow.js's own ` +
      `kernels, several times slower. To build them run: ${status.fix}\n`
  );
}
