/**
 * The "re-run the runWithCache cell" habit under the real tslab kernel: a notebook that loads a
 * checkpoint, then holds the chapter's cell `const [logits, cache] = model.runWithCache(tokens);`
 * once per re-run (each its own execute request, as pressing Shift-Enter again sends), with a probe
 * cell after chosen runs that prints tensor memory as JSON. Used by test/memory.kernel.test.ts
 * (scaled down) and `npm run bench -- --memory` (200 runs at 512 tokens on GPT-2 small's shape).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { executeNotebook } from "../../kernel-setup/execute";
import { KERNEL_NAME, codeNotebook, projectRoot, writeKernelSpec } from "../../kernel-setup/kernelspec";
import { ensureSelfLink } from "../../kernel-setup/selfLink";
import { SYSTEM_PYTHON } from "./displayTools";

export interface RerunOptions {
  checkpointDir: string;
  /** Prompt length (token ids are a fixed pseudo-random sequence). */
  tokens: number;
  runs: number;
  /** Probe after these run counts (1-based). */
  probeAfter: number[];
  /** Optional test-only limit on the wasm heap's tensors, in bytes above what the model holds. */
  wasmHeadroomBytes?: number;
  /** Backend for the kernel ($MECHINTERP_BACKEND); default: chosen from the model's size. */
  backend?: string;
  cellTimeoutS?: number;
  /** Also append each probe as a JSON line to this file as it happens (to follow a long run). */
  probeFile?: string;
}

export interface Probe {
  run: number;
  numTensors: number;
  /** tf.memory().numBytes: bytes of live tensors (views counted once per tensor). */
  tensorBytes: number;
  /** Bytes the library's tensors hold by kind (weights, caches, results). */
  held: { weights: number; caches: number; results: number; total: number };
  rssBytes: number;
  /** Seconds of the runWithCache cell just before the probe. */
  lastRunS: number;
}

export interface RerunReport {
  ok: boolean;
  error?: string;
  backend?: string;
  probes: Probe[];
  /** The model answered a forward pass after the re-runs. */
  aliveAfter: boolean;
  peakRssBytes?: number;
  seconds: number;
}

const PROBE = "PROBE ";

export function rerunCells(o: RerunOptions): string[] {
  const ids = `Array.from({ length: ${o.tokens} }, (_, i) => (i * 7919 + 13) % 50000)`;
  const cells = [
    `import { tf, HookedTransformer, heldBytes, setWasmTensorLimit } from "mechinterp-ts";\n` +
      `const model = await HookedTransformer.fromPretrained(${JSON.stringify(o.checkpointDir)}, { warn: () => {} });\n` +
      `const tokens = tf.tensor2d([${ids}], [1, ${o.tokens}], "int32");\n` +
      (o.wasmHeadroomBytes ? `if (tf.getBackend() === "wasm") setWasmTensorLimit(heldBytes().total + ${o.wasmHeadroomBytes});\n` : "") +
      `let runStarted = 0;\n` +
      `let lastRunS = 0;\n` +
      `console.log("BACKEND " + model.backendInfo.backend);`,
  ];
  const probes = new Set(o.probeAfter);
  for (let run = 1; run <= o.runs; run++) {
    // The chapter's cell, unchanged; the timing lines around it are separate statements.
    cells.push(`runStarted = performance.now();\nconst [logits, cache] = model.runWithCache(tokens);\nlastRunS = (performance.now() - runStarted) / 1000;`);
    if (probes.has(run)) {
      const line = `JSON.stringify({ run: ${run}, numTensors: tf.memory().numTensors, tensorBytes: tf.memory().numBytes, held: heldBytes(), rssBytes: process.memoryUsage().rss, lastRunS: lastRunS })`;
      cells.push(
        `console.log(${JSON.stringify(PROBE)} + ${line});` +
          (o.probeFile ? `\nrequire("fs").appendFileSync(${JSON.stringify(o.probeFile)}, ${line} + "\\n");` : "")
      );
    }
  }
  cells.push(`const check = model.forward("Hello world");\nconsole.log("ALIVE " + JSON.stringify(check.shape));\ncheck.dispose();\nconsole.log("PEAK " + process.resourceUsage().maxRSS * 1024);`);
  return cells;
}

/** Runs the notebook in a fresh kernel and collects the probes. */
export async function runRerunNotebook(o: RerunOptions): Promise<RerunReport> {
  const root = projectRoot();
  ensureSelfLink(root);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-rerun-"));
  try {
    writeKernelSpec(path.join(tmp, "kernels"), root);
    const input = path.join(tmp, "in.ipynb");
    const output = path.join(tmp, "out.ipynb");
    fs.writeFileSync(input, JSON.stringify(codeNotebook(rerunCells(o))));
    const env: NodeJS.ProcessEnv = { ...process.env, JUPYTER_PATH: tmp };
    if (o.backend) env.MECHINTERP_BACKEND = o.backend;
    else delete env.MECHINTERP_BACKEND;
    const report = await executeNotebook({ python: SYSTEM_PYTHON, input, output, kernelName: KERNEL_NAME, cwd: root, env, cellTimeoutS: o.cellTimeoutS ?? 600 });
    const out = fs.existsSync(output) ? fs.readFileSync(output, "utf8") : "{}";
    const nb = JSON.parse(out) as { cells?: { outputs?: { output_type: string; text?: string | string[] }[] }[] };
    const text = (nb.cells ?? [])
      .flatMap((c) => c.outputs ?? [])
      .filter((x) => x.output_type === "stream")
      .map((x) => (Array.isArray(x.text) ? x.text.join("") : x.text ?? ""))
      .join("");
    const probes = text.split("\n").filter((l) => l.startsWith(PROBE)).map((l) => JSON.parse(l.slice(PROBE.length)) as Probe);
    const peak = /^PEAK (\d+)/m.exec(text);
    return {
      ok: report.ok,
      error: report.error ? `${report.error.ename}: ${report.error.evalue} (cell ${report.error.codeCellNumber})\n${report.error.stderr}` : undefined,
      backend: /^BACKEND (\S+)/m.exec(text)?.[1],
      probes,
      aliveAfter: /^ALIVE \[1,3,50257\]/m.test(text),
      peakRssBytes: peak ? Number(peak[1]) : undefined,
      seconds: report.seconds,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
