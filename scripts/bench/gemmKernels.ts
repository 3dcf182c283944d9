/**
 * The native addon's matrix multiplies side by side on this machine: the BLAS it linked (OpenBLAS or
 * Accelerate) and its own portable cache-blocked SGEMM, in GFLOP/s, on GPT-2 small's shapes at 1024
 * tokens. Runs in the bench's own process, straight on the addon (no tfjs), switching kernels with
 * setGemmKernel and restoring the one it found.
 */
import { median } from "./results";

interface GemmAddon {
  sgemm(a: Float32Array, aOff: number, b: Float32Array, bOff: number, out: Float32Array, outOff: number,
    batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, aStride: number, bStride: number,
    bias: Float32Array | null, biasOff: number): void;
  gemmInfo?(): { blas: string; kernel: "blas" | "portable" };
  setGemmKernel?(name: "blas" | "portable"): boolean;
}

/** One shape: label, batch, m, n, k, whether B is stored transposed. */
const SHAPES: [string, number, number, number, number, boolean][] = [
  ["MLP in [1024,768]x[768,3072]", 1, 1024, 3072, 768, false],
  ["MLP out [1024,3072]x[3072,768]", 1, 1024, 768, 3072, false],
  ["attention q k^T 12 x [1024,64]x[64,1024]", 12, 1024, 1024, 64, true],
  ["W_Q [1024,768]x[768,768]", 1, 1024, 768, 768, false],
];

export interface GemmKernelRow {
  shape: string;
  /** GFLOP/s of the linked BLAS, or undefined when none was linked. */
  blas?: number;
  portable: number;
}

export interface GemmKernelReport {
  /** "openblas", "accelerate", or "none". */
  blas: string;
  rows: GemmKernelRow[];
}

function gflops(addon: GemmAddon, [, batch, m, n, k, transB]: (typeof SHAPES)[number], budgetS: number): number {
  const a = new Float32Array(batch * m * k).map(() => Math.random() - 0.5);
  const b = new Float32Array(batch * k * n).map(() => Math.random() - 0.5);
  const out = new Float32Array(batch * m * n);
  const once = () => {
    const t = process.hrtime.bigint();
    addon.sgemm(a, 0, b, 0, out, 0, batch, m, n, k, false, transB, m * k, k * n, null, 0);
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  once(); // warm-up: threads, page faults
  const times: number[] = [];
  const start = Date.now();
  while (times.length < 3 || (times.length < 20 && Date.now() - start < budgetS * 1000)) times.push(once());
  return (2 * batch * m * n * k) / median(times) / 1e9;
}

/** Measures every shape with each kernel; { unavailable } when the addon is not built or predates setGemmKernel. */
export function measureGemmKernels(budgetS = 1.5): GemmKernelReport | { unavailable: string } {
  let addon: GemmAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    addon = require("mechinterp-native-gemm") as GemmAddon;
  } catch (err) {
    return { unavailable: `the native addon is not built (${(err as Error).message.split("\n")[0]}); run npm rebuild mechinterp-native-gemm` };
  }
  if (!addon.gemmInfo || !addon.setGemmKernel) return { unavailable: "the native addon predates the portable kernel; run npm rebuild mechinterp-native-gemm" };
  const { blas, kernel } = addon.gemmInfo();
  const rows: GemmKernelRow[] = [];
  try {
    for (const shape of SHAPES) {
      const row: GemmKernelRow = { shape: shape[0], portable: 0 };
      if (addon.setGemmKernel("blas")) row.blas = gflops(addon, shape, budgetS);
      addon.setGemmKernel("portable");
      row.portable = gflops(addon, shape, budgetS);
      rows.push(row);
    }
  } finally {
    addon.setGemmKernel(kernel);
  }
  return { blas, rows };
}

/** The report as a Markdown table. */
export function gemmKernelTable(report: GemmKernelReport | { unavailable: string }): string[] {
  if ("unavailable" in report) return [`Native matrix multiply kernels: unavailable: ${report.unavailable}`];
  const name = report.blas === "accelerate" ? "Accelerate" : "OpenBLAS";
  const linked = report.blas !== "none";
  const lines = [
    `Native matrix multiply kernels (GFLOP/s, median; the addon uses ${linked ? name : "the portable kernel: built without a BLAS"}):`,
    "",
    `| shape | ${name} | portable SGEMM | portable / ${name} |`,
    "| --- | --- | --- | --- |",
  ];
  for (const r of report.rows) {
    const blas = r.blas === undefined ? "not linked" : r.blas.toFixed(1);
    const ratio = r.blas === undefined ? "" : (r.portable / r.blas).toFixed(2);
    lines.push(`| ${r.shape} | ${blas} | ${r.portable.toFixed(1)} | ${ratio} |`);
  }
  return lines;
}
