/**
 * `npm run notebook`: set-up, GPT-2 weights, then the chapter notebook executed headless through
 * nbclient under the mechinterp-ts (tslab) kernel, written to notebooks/out/ as .ipynb and .html,
 * and a short summary.
 *
 *   npm run notebook [-- path/to/notebook.ipynb] [--timeout SECONDS] [--yes]
 *
 * --yes lets set-up install Jupyter without asking when it is missing (kernel-setup/consent.ts).
 *
 * MODEL_OVERRIDE_DIR=<folder with config.json + model.safetensors> runs offline on that checkpoint.
 */
import * as fs from "fs";
import * as path from "path";
import { describeCellError, executeNotebook, stripAnsi } from "../kernel-setup/execute";
import { KERNEL_NAME, projectRoot } from "../kernel-setup/kernelspec";
import { envWithKernels, setup } from "../kernel-setup/setup";
import { notebookToHtml } from "../src/display/notebookHtml";
import { CONFIG_FILE, MODEL_OVERRIDE_ENV_VAR, WEIGHTS_FILE, resolveModelSource } from "../src/weights/loadPretrained";

export const DEFAULT_NOTEBOOK = path.join("notebooks", "02-transformers.ipynb");
export const OUT_DIR_NAME = "out";

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
}

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

/** Set-up, weights, execution and the HTML page. Throws NotebookCellError naming the failing cell. */
export async function runNotebook(options: RunNotebookOptions = {}): Promise<NotebookRun> {
  const root = projectRoot();
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const env = options.env ?? process.env;
  const notebook = path.resolve(root, options.notebook ?? DEFAULT_NOTEBOOK);
  if (!fs.existsSync(notebook)) throw new Error(`Notebook not found: ${notebook}`);
  const source = JSON.parse(fs.readFileSync(notebook, "utf8")) as NotebookJson;
  const outDir = path.resolve(root, options.outDir ?? path.join(path.dirname(notebook), OUT_DIR_NAME));
  const base = path.basename(notebook, ".ipynb");
  const outNotebook = path.join(outDir, `${base}.ipynb`);
  const outHtml = path.join(outDir, `${base}.html`);

  const ready = await setup({ kernelsDir: options.kernelsDir, env, log, allowInstall: options.allowInstall });
  if (options.fetchWeights !== false) {
    const modelName = modelNameIn(source);
    if (modelName) await ensureWeights(modelName, env, log);
  }

  log(`Running ${path.relative(root, notebook)} with the "${KERNEL_NAME}" kernel...`);
  fs.mkdirSync(outDir, { recursive: true });
  const report = await executeNotebook({
    python: ready.python.command,
    input: notebook,
    output: outNotebook,
    kernelName: KERNEL_NAME,
    cwd: path.dirname(notebook),
    cellTimeoutS: options.cellTimeoutS ?? 900,
    env: envWithKernels(ready.kernelsDir, env),
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
  let notebook: string | undefined;
  let cellTimeoutS: number | undefined;
  let allowInstall = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--yes") {
      allowInstall = true;
    } else if (args[i] === "--timeout") {
      cellTimeoutS = Number(args[++i]);
      if (!(cellTimeoutS > 0)) throw new Error(`--timeout needs a number of seconds, got ${args[i]}`);
    } else if (!args[i].startsWith("-") && !notebook) {
      notebook = path.resolve(process.cwd(), args[i]);
    } else {
      throw new Error(`Unknown argument ${args[i]}. Usage: npm run notebook [-- notebook.ipynb] [--timeout SECONDS] [--yes]`);
    }
  }
  const run = await runNotebook({ notebook, cellTimeoutS, allowInstall });
  const rel = (p: string) => path.relative(process.cwd(), p);
  const { prompt, lines } = predictionsIn(run.executed, 5);
  const summary = [
    "",
    `Ran ${run.codeCells} code cells of ${rel(run.notebook)} in ${run.seconds.toFixed(1)}s.`,
    `  executed notebook: ${rel(run.outNotebook)}`,
    `  web page:          ${rel(run.outHtml)}   (open it in a browser; works offline)`,
  ];
  const device = /^Using device: .*$/m.exec(run.executed.cells.map((c) => streamText(c)).join(""));
  if (device) summary.push(device[0]);
  if (lines.length) {
    summary.push(`Top ${lines.length} predictions${prompt !== undefined ? ` after '${prompt}'` : ""}:`, ...lines.map((l) => `  ${l}`));
  }
  summary.push("", "Open the notebook to explore and do the exercises: npm run lab");
  console.log(summary.join("\n"));
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(err instanceof NotebookCellError ? `\n${err.message}` : `\nnpm run notebook failed: ${stripAnsi(err.message)}`);
    process.exit(1);
  });
}
