/**
 * `npm run bench -- --kernels [--reps N]` (or `node dist/scripts/benchKernels.js [--reps N]`): how long each Jupyter kernel takes to start and to
 * run its first cells, through nbclient as `npm run notebook` runs them (tslab, and Deno's kernel
 * where the optional `deno` is installed). Per run, a fresh kernel executes three cells:
 *   1. `console.log(1)`                        — the first cell (tslab compiles it with TypeScript)
 *   2. `import { HookedTransformer } from "mechinterp-ts"` and a print — loading the package
 *   3. `const x: number = 6 * 7; console.log(x)` — a warm cell
 * Prints a table of medians over N runs (default 3); asserts nothing. The kernels are registered in
 * .cache/bench/kernels/ (the user's Jupyter folder is left alone).
 */
import * as fs from "fs";
import * as path from "path";
import { DENO_KERNEL_NAME } from "../kernel-setup/denoKernel";
import { executeNotebook } from "../kernel-setup/execute";
import { KERNEL_NAME, codeNotebook, projectRoot } from "../kernel-setup/kernelspec";
import { envWithKernels, setup } from "../kernel-setup/setup";

const CELLS = [
  "console.log(1);",
  'import { HookedTransformer } from "mechinterp-ts";\nconsole.log(typeof HookedTransformer);',
  "const x: number = 6 * 7;\nconsole.log(x);",
];

interface Timing {
  start: number;
  cells: number[];
  total: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export async function runKernelBench(reps = 3): Promise<void> {
  if (!(reps >= 1)) throw new Error(`--reps needs a positive number, got ${reps}`);
  const root = projectRoot();
  const work = path.join(root, ".cache", "bench", "kernels");
  const kernelsDir = path.join(work, "jupyter", "kernels");
  fs.mkdirSync(work, { recursive: true });
  const ready = await setup({ kernelsDir, log: (l) => console.error(l) });
  const kernels: Array<[string, string]> = [["tslab", KERNEL_NAME]];
  if (ready.deno.kernelFile !== undefined && ready.deno.verified !== "failed") kernels.push(["Deno", DENO_KERNEL_NAME]);
  else console.error(`Deno's kernel is not measured: ${ready.deno.kernelFile === undefined ? ready.deno.missing : ready.deno.error}`);
  const input = path.join(work, "bench.ipynb");
  fs.writeFileSync(input, JSON.stringify(codeNotebook(CELLS)));
  const results: Record<string, Timing[]> = {};
  for (let rep = 0; rep < reps; rep++) {
    for (const [label, name] of kernels) {
      const report = await executeNotebook({
        python: ready.python.command,
        input,
        output: path.join(work, `bench.${name}.out.ipynb`),
        kernelName: name,
        cwd: work,
        cellTimeoutS: 300,
        env: envWithKernels(kernelsDir),
      });
      if (!report.ok) throw new Error(`${label} kernel failed: ${JSON.stringify(report.error)}`);
      (results[label] ??= []).push({ start: report.kernelStartSeconds ?? NaN, cells: report.cellSeconds ?? [], total: report.seconds });
      console.error(`  ${label} run ${rep + 1}/${reps}: start ${report.kernelStartSeconds}s, cells ${JSON.stringify(report.cellSeconds)}`);
    }
  }
  console.log(`Kernel start and first cells, median of ${reps} fresh kernels (seconds; nbclient, this machine):\n`);
  console.log("| kernel | start | first cell | import mechinterp-ts | warm cell | whole run |\n|---|---|---|---|---|---|");
  for (const [label, runs] of Object.entries(results)) {
    const col = (f: (t: Timing) => number) => median(runs.map(f)).toFixed(2);
    console.log(`| ${label} | ${col((t) => t.start)} | ${col((t) => t.cells[0])} | ${col((t) => t.cells[1])} | ${col((t) => t.cells[2])} | ${col((t) => t.total)} |`);
  }
}

if (require.main === module) {
  const i = process.argv.indexOf("--reps");
  runKernelBench(i >= 0 ? Number(process.argv[i + 1]) : 3).catch((err) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
