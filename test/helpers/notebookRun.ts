/**
 * "Run notebook X headless on a generated 12-layer checkpoint and give me the executed JSON", the
 * way `npm run notebook` runs it (set-up, nbclient, the tslab kernel), for the notebook tests;
 * plus small readers of the executed notebook (cells by marker, stdout, chart bundles, errors).
 *
 * Needs Jupyter (Debian: jupyter-notebook python3-nbclient jupyter-nbconvert); `.ci/run` installs it.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectRoot } from "../../kernel-setup/kernelspec";
import { NotebookCell, NotebookJson, NotebookKernel, NotebookOutput, NotebookRun, joinSource, runNotebook, streamText } from "../../scripts/run-notebook";
import { SAE_OVERRIDE_ENV_VAR } from "../../src/sae/loadSae";
import { CheckpointOptions, writeTinyCheckpoint } from "../fixtures/checkpoint";
import { ReleaseFixtureOptions, writeGpt2SmallResJbFixture } from "../fixtures/sae";

export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";
export const SVG_MIME = "image/svg+xml";

/**
 * The checkpoint the book's analysis notebooks run on: GPT-2 small's 12 layers and 12 heads (the
 * cells index layer 11, head 6 of layer 8 and loop over range(12) heads) and its tokenizer's
 * vocabulary, with a small width so it runs in seconds.
 */
export const NOTEBOOK_CHECKPOINT: CheckpointOptions = { nLayers: 12, nHeads: 12, dModel: 48, nCtx: 64, dVocab: 50257, seed: 7 };

export interface HeadlessNotebookOptions {
  /** The checkpoint to generate (default NOTEBOOK_CHECKPOINT). */
  checkpoint?: CheckpointOptions;
  /**
   * Random gpt2-small-res-jb SAEs to serve through SAE_OVERRIDE_DIR (test/fixtures/sae.ts), e.g.
   * `{ saeIds: ["blocks.8.hook_resid_pre"] }`; d_in defaults to the checkpoint's d_model.
   */
  saes?: ReleaseFixtureOptions;
  /** Extra environment for the kernel; MODEL_OVERRIDE_DIR (and SAE_OVERRIDE_DIR with `saes`) are set here. */
  env?: Record<string, string>;
  /** Seconds one cell may run (default 900). */
  cellTimeoutS?: number;
  /** The kernel to run on (default "tslab"; "deno": Deno's kernel). */
  kernel?: NotebookKernel;
}

export interface HeadlessNotebookRun {
  /** The run: executed notebook JSON, output paths, code cell count. */
  run: NotebookRun;
  /** The generated checkpoint's folder (config.json + model.safetensors), for the float64 reference. */
  checkpoint: string;
  /** The SAE_OVERRIDE_DIR folder (`<saeId>/cfg.json`, ...) when `saes` was given. */
  saeDir?: string;
  /** The scratch folder holding the checkpoint, the kernel registration and the outputs. */
  tmp: string;
  /** Progress lines of the set-up and the run. */
  progress: string[];
  /** Removes `tmp`. */
  cleanup(): void;
}

/**
 * Runs `notebook` (a path relative to the project root, e.g. "notebooks/exercises.ipynb") headless
 * with MODEL_OVERRIDE_DIR at a freshly generated checkpoint. Throws the failing cell's message
 * (NotebookCellError) when a cell errors, after removing the scratch folder.
 */
export async function runNotebookHeadless(notebook: string, options: HeadlessNotebookOptions = {}): Promise<HeadlessNotebookRun> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `mechinterp-nb-${path.basename(notebook, ".ipynb")}-`));
  const cleanup = () => fs.rmSync(tmp, { recursive: true, force: true });
  const checkpoint = path.join(tmp, "checkpoint");
  const progress: string[] = [];
  try {
    const ck = writeTinyCheckpoint(checkpoint, options.checkpoint ?? NOTEBOOK_CHECKPOINT);
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, MODEL_OVERRIDE_DIR: checkpoint };
    let saeDir: string | undefined;
    if (options.saes) {
      saeDir = path.join(tmp, "saes");
      writeGpt2SmallResJbFixture(saeDir, { dIn: ck.config.n_embd, ...options.saes });
      env[SAE_OVERRIDE_ENV_VAR] = saeDir;
    }
    const run = await runNotebook({
      notebook: path.resolve(projectRoot(), notebook),
      kernelsDir: path.join(tmp, "jupyter", "kernels"),
      outDir: path.join(tmp, "out"),
      env,
      cellTimeoutS: options.cellTimeoutS,
      kernel: options.kernel,
      log: (line) => progress.push(line),
    });
    return { run, checkpoint, saeDir, tmp, progress, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** The committed notebook, as saved (for checks that it has no outputs). */
export function readCommittedNotebook(notebook: string): NotebookJson {
  return JSON.parse(fs.readFileSync(path.resolve(projectRoot(), notebook), "utf8")) as NotebookJson;
}

export function codeCells(nb: NotebookJson): NotebookCell[] {
  return nb.cells.filter((c) => c.cell_type === "code");
}

/** The code cell whose source contains `marker` (exactly one must). */
export function cellWith(nb: NotebookJson, marker: string): NotebookCell {
  const cells = codeCells(nb).filter((c) => joinSource(c.source).includes(marker));
  assert.strictEqual(cells.length, 1, `${cells.length} code cells contain ${JSON.stringify(marker)}`);
  return cells[0];
}

/** What the cell with `marker` printed to stdout, as lines (without the trailing empty one). */
export function stdoutLines(nb: NotebookJson, marker: string): string[] {
  const text = streamText(cellWith(nb, marker));
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export function allStdout(nb: NotebookJson): string {
  return nb.cells.map((c) => streamText(c)).join("");
}

/** Error outputs of every code cell, with the first line of the cell's source. */
export function errorOutputs(nb: NotebookJson): { cell: string; error: NotebookOutput }[] {
  return codeCells(nb).flatMap((c) =>
    (c.outputs ?? []).filter((o) => o.output_type === "error").map((error) => ({ cell: joinSource(c.source).split("\n")[0], error }))
  );
}

/** The Vega-Lite MIME bundles a cell displayed. */
export function chartBundles(cell: NotebookCell): Record<string, unknown>[] {
  return (cell.outputs ?? []).filter((o) => o.data && VEGALITE_MIME in o.data).map((o) => o.data as Record<string, unknown>);
}

/** Asserts a bundle carries a Vega-Lite v5 spec, an SVG and a text fallback; returns the spec. */
export function assertChartBundle(bundle: Record<string, unknown>, what: string): Record<string, unknown> {
  const spec = bundle[VEGALITE_MIME] as Record<string, unknown>;
  assert.match(String(spec.$schema), /vega-lite\/v5/, `${what}: $schema`);
  assert.match(joinSource(bundle[SVG_MIME] as string | string[]), /^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/, `${what}: SVG`);
  assert.ok("text/plain" in bundle, `${what}: text/plain fallback`);
  return spec;
}

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Opens an executed notebook's HTML page in headless Chromium and waits until `expectedCharts`
 * charts are drawn (vega-embed puts an svg.marks or canvas.marks in each). Returns how many were
 * drawn and every console error, page error and non-local request seen (the page must work offline).
 */
export async function drawInChromium(htmlFile: string, expectedCharts: number): Promise<{ drawn: number; problems: string[] }> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does.`);
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { chromium } = require("playwright-core") as typeof import("playwright-core");
  // Playwright starts Chromium with a fresh temporary profile of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("request", (req) => {
      if (!/^(file|data|blob):/.test(req.url())) problems.push(`network request: ${req.url()}`);
    });
    await page.goto(`file://${htmlFile}`);
    const selector = ".vega-embed svg.marks, .vega-embed canvas.marks";
    await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel as string).length >= (n as number), [selector, expectedCharts] as const, { timeout: 60_000 });
    const drawn = await page.evaluate((sel) => document.querySelectorAll(sel).length, selector);
    return { drawn, problems };
  } finally {
    await browser.close();
  }
}
