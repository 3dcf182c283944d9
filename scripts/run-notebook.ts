/**
 * `npm run notebook`: set-up and GPT-2 weights (once), then every notebook in notebooks/ in the
 * book's order (BOOK_ORDER), each executed headless through nbclient under the mechinterp-ts
 * (tslab) kernel and written to notebooks/out/ as .ipynb and .html, with a short summary each.
 *
 *   npm run notebook [-- path/to/notebook.ipynb ...] [--timeout SECONDS] [--yes] [--kernel tslab|deno]
 *
 * --kernel deno runs them on Deno's Jupyter kernel (mechinterp-ts-deno, kernel-setup/denoKernel.ts)
 * instead of tslab, writing to notebooks/out/deno/.
 * --yes lets set-up install Jupyter without asking when it is missing (kernel-setup/consent.ts).
 *
 * MODEL_OVERRIDE_DIR=<folder with config.json + model.safetensors> runs offline on that checkpoint;
 * SAE_OVERRIDE_DIR=<folder> does the same for the SAE notebooks load. Both reach every kernel.
 */
import * as fs from "fs";
import * as path from "path";
import { describeCellError, executeNotebook, stripAnsi } from "../kernel-setup/execute";
import { KERNEL_NAME, projectRoot } from "../kernel-setup/kernelspec";
import { DENO_KERNEL_NAME } from "../kernel-setup/denoKernel";
import { envWithKernels, setup } from "../kernel-setup/setup";
import { VEGALITE_MIME } from "../src/display/mime";
import { notebookToHtml } from "../src/display/notebookHtml";
import { SAE_OVERRIDE_ENV_VAR } from "../src/sae/loadSae";
import { CONFIG_FILE, MODEL_OVERRIDE_ENV_VAR, WEIGHTS_FILE, resolveModelSource } from "../src/weights/loadPretrained";

export const DEFAULT_NOTEBOOK = path.join("notebooks", "02-transformers.ipynb");
export const NOTEBOOKS_DIR = "notebooks";
export const OUT_DIR_NAME = "out";
/** The companion notebooks in the order the book reads them (file names without .ipynb). */
export const BOOK_ORDER = ["02-transformers", "first-analysis", "13-induction-heads", "exercises", "09-sparse-autoencoders"] as const;

export interface RunNotebookOptions {
  /** The notebook to run (default notebooks/02-transformers.ipynb). */
  notebook?: string;
  /** Where the executed .ipynb and .html go (default: `out/` beside the notebook). */
  outDir?: string;
  /** Where to register the kernel (default: the user's Jupyter kernels folder). */
  kernelsDir?: string;
  /** Let set-up install Jupyter without asking (--yes). */
  allowInstall?: boolean;
  /** Environment for set-up and the kernel, e.g. with MODEL_OVERRIDE_DIR (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Seconds one cell may run (default 900: loading GPT-2 on a slow machine takes a while). */
  cellTimeoutS?: number;
  /** Download the model the notebook loads before starting the kernel (default true). */
  fetchWeights?: boolean;
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
  /** Which kernel runs it (default "tslab"; "deno": Deno's kernel, outputs in out/deno/ by default). */
  kernel?: NotebookKernel;
}

export type NotebookKernel = "tslab" | "deno";
export const NOTEBOOK_KERNELS: Record<NotebookKernel, string> = { tslab: KERNEL_NAME, deno: DENO_KERNEL_NAME };

export interface NotebookRun {
  notebook: string;
  outNotebook: string;
  outHtml: string;
  codeCells: number;
  seconds: number;
  /** The executed notebook (nbformat 4 JSON). */
  executed: NotebookJson;
}

export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}
export interface NotebookOutput {
  output_type: "stream" | "display_data" | "execute_result" | "error";
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
export interface NotebookJson {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** Thrown when a cell fails; the message names the cell and shows its error. */
export class NotebookCellError extends Error {
  override readonly name = "NotebookCellError";
  constructor(message: string, readonly outNotebook: string) {
    super(message);
  }
}

export function joinSource(source: string | string[]): string {
  return Array.isArray(source) ? source.join("") : source;
}

/** Everything a cell printed (stdout and stderr streams), as one string. */
export function streamText(cell: NotebookCell, name: "stdout" | "stderr" = "stdout"): string {
  return (cell.outputs ?? [])
    .filter((o) => o.output_type === "stream" && o.name === name)
    .map((o) => joinSource(o.text ?? ""))
    .join("");
}

/** The model name the notebook passes to `fromPretrained("...")`, if any. */
export function modelNameIn(nb: NotebookJson): string | undefined {
  for (const cell of nb.cells) {
    if (cell.cell_type !== "code") continue;
    const m = /fromPretrained(?:NoProcessing)?\(\s*["'`]([^"'`]+)["'`]/.exec(joinSource(cell.source));
    if (m) return m[1];
  }
  return undefined;
}

/** The prompt (`Input: '...'`) and the first `n` lines under "Top 10 predictions:". */
export function predictionsIn(nb: NotebookJson, n = 5): { prompt?: string; lines: string[] } {
  const text = nb.cells.map((c) => streamText(c)).join("");
  const prompt = /^Input: '(.*)'$/m.exec(text)?.[1];
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^Top \d+ predictions:/.test(l));
  if (start < 0) return { prompt, lines: [] };
  const preds: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!/^\s+\d+\. /.test(line)) break;
    preds.push(line.trim());
  }
  return { prompt, lines: preds.slice(0, n) };
}

/** Makes sure the weights the notebook loads are on disk, downloading them once (with a progress bar). */
export async function ensureWeights(modelName: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const override = env[MODEL_OVERRIDE_ENV_VAR];
  if (override) {
    const missing = [CONFIG_FILE, WEIGHTS_FILE].filter((f) => !fs.existsSync(path.join(override, f)));
    if (missing.length > 0) {
      throw new Error(
        `$${MODEL_OVERRIDE_ENV_VAR}=${override} lacks ${missing.join(" and ")}. ` +
          `Put a Hugging Face GPT-2 checkpoint there (config.json + model.safetensors) or unset the variable.`
      );
    }
    log(`Using the checkpoint in $${MODEL_OVERRIDE_ENV_VAR} (${path.resolve(override)}); nothing to download.`);
    return;
  }
  if (fs.existsSync(modelName) && fs.statSync(modelName).isDirectory()) return; // a local folder: the notebook checks it
  log(`Making sure the "${modelName}" weights are downloaded (once, into the Hugging Face cache)...`);
  const source = await resolveModelSource(modelName);
  log(`  ${source.weightsPath}`);
}

/**
 * The notebooks `npm run notebook` runs: every .ipynb directly in `dir` (not in out/), the book's
 * (BOOK_ORDER) first in that order, any others after them by name. Absolute paths.
 */
export function notebooksIn(dir: string): string[] {
  if (!fs.existsSync(dir)) throw new Error(`No notebooks folder at ${dir}.`);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb") && fs.statSync(path.join(dir, f)).isFile());
  const rank = (f: string) => {
    const i = (BOOK_ORDER as readonly string[]).indexOf(path.basename(f, ".ipynb"));
    return i < 0 ? BOOK_ORDER.length : i;
  };
  return files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((f) => path.join(dir, f));
}

/** Whether a notebook loads an SAE (SAE.fromPretrained / SAE.fromDir in a code cell). */
export function loadsSae(nb: NotebookJson): boolean {
  return nb.cells.some((c) => c.cell_type === "code" && /\bSAE\.from(Pretrained|Dir)\(/.test(joinSource(c.source)));
}

/** Set-up once, weights once per model the notebooks load; the kernels folder and environment to run them with. */
export interface PreparedRun {
  python: string;
  kernelsDir: string;
  env: NodeJS.ProcessEnv;
  kernel: NotebookKernel;
}

export async function prepareNotebooks(
  notebooks: NotebookJson[],
  options: Pick<RunNotebookOptions, "kernelsDir" | "env" | "fetchWeights" | "log" | "allowInstall" | "kernel"> = {}
): Promise<PreparedRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const env = options.env ?? process.env;
  const kernel = options.kernel ?? "tslab";
  const deno = kernel === "deno" ? "required" : "optional";
  const ready = await setup({ kernelsDir: options.kernelsDir, env, log, allowInstall: options.allowInstall, deno });
  if (options.fetchWeights !== false) {
    const models = [...new Set(notebooks.map(modelNameIn).filter((m): m is string => m !== undefined))];
    for (const modelName of models) await ensureWeights(modelName, env, log);
  }
  const saeDir = env[SAE_OVERRIDE_ENV_VAR];
  if (saeDir && notebooks.some(loadsSae) && !(fs.existsSync(saeDir) && fs.statSync(saeDir).isDirectory())) {
    throw new Error(`$${SAE_OVERRIDE_ENV_VAR}=${saeDir} is not a folder. Point it at a folder with the SAE's files or unset it.`);
  }
  return { python: ready.python.command, kernelsDir: ready.kernelsDir, env: envWithKernels(ready.kernelsDir, env), kernel };
}

function readNotebook(file: string): NotebookJson {
  if (!fs.existsSync(file)) throw new Error(`Notebook not found: ${file}`);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as NotebookJson;
  } catch (err) {
    throw new Error(`${file} is not a notebook (JSON): ${(err as Error).message}`);
  }
}

/** Executes one notebook with a prepared set-up and writes its HTML page. Throws NotebookCellError naming the failing cell. */
export async function executePrepared(
  notebook: string,
  prepared: PreparedRun,
  options: Pick<RunNotebookOptions, "outDir" | "cellTimeoutS" | "log"> = {}
): Promise<NotebookRun> {
  const root = projectRoot();
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const source = readNotebook(notebook);
  const kernelName = NOTEBOOK_KERNELS[prepared.kernel];
  const defaultOut = path.join(path.dirname(notebook), OUT_DIR_NAME, ...(prepared.kernel === "deno" ? ["deno"] : []));
  const outDir = path.resolve(root, options.outDir ?? defaultOut);
  const base = path.basename(notebook, ".ipynb");
  const outNotebook = path.join(outDir, `${base}.ipynb`);
  const outHtml = path.join(outDir, `${base}.html`);

  log(`Running ${path.relative(root, notebook)} with the "${kernelName}" kernel...`);
  fs.mkdirSync(outDir, { recursive: true });
  const report = await executeNotebook({
    python: prepared.python,
    input: notebook,
    output: outNotebook,
    kernelName,
    cwd: path.dirname(notebook),
    cellTimeoutS: options.cellTimeoutS ?? 900,
    env: prepared.env,
    onProgress: (line) => log(`  ${line}`),
  });
  const executed = JSON.parse(fs.readFileSync(outNotebook, "utf8")) as NotebookJson;
  writeHtml(executed, outHtml, title(source, base));
  if (!report.ok && report.error) {
    throw new NotebookCellError(
      `${describeCellError(report.error, notebook)}\nThe outputs up to that cell are in ${path.relative(process.cwd(), outNotebook)}.`,
      outNotebook
    );
  }
  return { notebook, outNotebook, outHtml, codeCells: report.executed, seconds: report.seconds, executed };
}

/** Set-up, weights, execution and the HTML page of one notebook. Throws NotebookCellError naming the failing cell. */
export async function runNotebook(options: RunNotebookOptions = {}): Promise<NotebookRun> {
  const notebook = path.resolve(projectRoot(), options.notebook ?? DEFAULT_NOTEBOOK);
  const prepared = await prepareNotebooks([readNotebook(notebook)], options);
  return executePrepared(notebook, prepared, options);
}

export interface RunNotebooksOptions extends Omit<RunNotebookOptions, "notebook"> {
  /** The notebooks to run, in this order (default: notebooksIn("notebooks")). */
  notebooks?: string[];
  /** Called after each notebook, with its run or its error. */
  onDone?: (notebook: string, result: NotebookRun | Error) => void;
}

/** One entry per notebook: its run, or the error that stopped it (the others still run). */
export type NotebookOutcome = { notebook: string; run: NotebookRun } | { notebook: string; error: Error };

/** Set-up and weights once, then every notebook in turn; a failing notebook does not stop the rest. */
export async function runNotebooks(options: RunNotebooksOptions = {}): Promise<NotebookOutcome[]> {
  const root = projectRoot();
  const files = (options.notebooks ?? notebooksIn(path.join(root, NOTEBOOKS_DIR))).map((f) => path.resolve(root, f));
  if (files.length === 0) throw new Error(`No notebooks to run in ${path.join(root, NOTEBOOKS_DIR)}.`);
  const prepared = await prepareNotebooks(files.map(readNotebook), options);
  const outcomes: NotebookOutcome[] = [];
  for (const notebook of files) {
    try {
      const run = await executePrepared(notebook, prepared, options);
      outcomes.push({ notebook, run });
      options.onDone?.(notebook, run);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      outcomes.push({ notebook, error });
      options.onDone?.(notebook, error);
    }
  }
  return outcomes;
}

/** Chart outputs (Vega-Lite bundles) in an executed notebook. */
export function chartCount(nb: NotebookJson): number {
  return nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data && VEGALITE_MIME in o.data).length;
}

/** The short summary `npm run notebook` prints for one notebook. */
export function summarize(run: NotebookRun, cwd = process.cwd()): string[] {
  const rel = (p: string) => path.relative(cwd, p);
  const charts = chartCount(run.executed);
  const lines = [
    `Ran ${run.codeCells} code cells of ${rel(run.notebook)} in ${run.seconds.toFixed(1)}s (${charts} chart${charts === 1 ? "" : "s"}).`,
    `  executed notebook: ${rel(run.outNotebook)}`,
    `  web page:          ${rel(run.outHtml)}   (open it in a browser; works offline)`,
  ];
  const device = /^Using device: .*$/m.exec(run.executed.cells.map((c) => streamText(c)).join(""));
  if (device) lines.push(`  ${device[0]}`);
  const { prompt, lines: top } = predictionsIn(run.executed, 5);
  if (top.length) {
    lines.push(`  Top ${top.length} predictions${prompt !== undefined ? ` after '${prompt}'` : ""}:`, ...top.map((l) => `    ${l}`));
  }
  return lines;
}

/** The first markdown heading, for the HTML page's title. */
function title(nb: NotebookJson, fallback: string): string {
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown") continue;
    const m = /^#\s+(.+)$/m.exec(joinSource(cell.source));
    if (m) return m[1].trim();
  }
  return fallback;
}

/** The executed notebook as a web page with live charts (vega-embed from local copies, works offline). */
function writeHtml(executed: NotebookJson, file: string, pageTitle: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, notebookToHtml(JSON.stringify(executed), { title: pageTitle }));
  fs.renameSync(tmp, file);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const notebooks: string[] = [];
  let cellTimeoutS: number | undefined;
  let allowInstall = false;
  let kernel: NotebookKernel | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--yes") {
      allowInstall = true;
    } else if (args[i] === "--kernel") {
      const name = args[++i];
      if (name !== "tslab" && name !== "deno") throw new Error(`--kernel takes tslab or deno, got ${name ?? "nothing"}`);
      kernel = name;
    } else if (args[i] === "--timeout") {
      cellTimeoutS = Number(args[++i]);
      if (!(cellTimeoutS > 0)) throw new Error(`--timeout needs a number of seconds, got ${args[i]}`);
    } else if (!args[i].startsWith("-")) {
      notebooks.push(path.resolve(process.cwd(), args[i]));
    } else {
      throw new Error(`Unknown argument ${args[i]}. Usage: npm run notebook [-- notebook.ipynb ...] [--timeout SECONDS] [--yes] [--kernel tslab|deno]`);
    }
  }
  const outcomes = await runNotebooks({ notebooks: notebooks.length ? notebooks : undefined, cellTimeoutS, allowInstall, kernel });
  const summary: string[] = [];
  for (const outcome of outcomes) {
    summary.push("");
    if ("run" in outcome) summary.push(...summarize(outcome.run));
    else {
      const msg = outcome.error instanceof NotebookCellError ? outcome.error.message : stripAnsi(outcome.error.message);
      summary.push(`FAILED ${path.relative(process.cwd(), outcome.notebook)}:`, ...msg.split("\n").map((l) => `  ${l}`));
    }
  }
  const failed = outcomes.filter((o) => "error" in o).length;
  summary.push("", failed ? `${failed} of ${outcomes.length} notebooks failed.` : `All ${outcomes.length} notebook${outcomes.length === 1 ? "" : "s"} ran.`);
  summary.push("Open the notebooks to explore and do the exercises: npm run lab");
  console.log(summary.join("\n"));
  if (failed) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(err instanceof NotebookCellError ? `\n${err.message}` : `\nnpm run notebook failed: ${stripAnsi(err.message)}`);
    process.exit(1);
  });
}
