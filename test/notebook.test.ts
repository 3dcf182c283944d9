/**
 * The chapter notebook, executed headless the way `npm run notebook` does (set-up, nbclient, the
 * tslab kernel; then again on Deno's kernel, `--kernel deno`), on a tiny generated checkpoint through
 * MODEL_OVERRIDE_DIR: every code cell runs, the prints of the original are there with the right
 * numbers, every chart carries its Vega-Lite spec and SVG, and the HTML page draws every chart in
 * headless Chromium. The same checks run for both kernels.
 *
 * Needs Jupyter (Debian: jupyter-notebook python3-nbclient jupyter-nbconvert) and /usr/bin/chromium;
 * `.ci/run` installs them. The Deno run needs the optional dependency `deno` in node_modules: skipped
 * with the reason without it, except under CI, where it is required.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KERNEL_NAME, projectRoot } from "../kernel-setup/kernelspec";
import { DENO_KERNEL_NAME, denoBinary, denoMissingReason } from "../kernel-setup/denoKernel";
import { CHECKOUT_ENV_VAR, LAUNCHER_FILE } from "../kernel-setup/launcher";
import { nativeKernelsStatus } from "../src/kernels/nativeKernels";
import { setup } from "../kernel-setup/setup";
import { HookedTransformer, tf } from "../src";
import { at, norm, cosineSimilarity, topK, softmax, item } from "../src/tensorUtils";
import {
  DEFAULT_NOTEBOOK,
  NotebookCellError,
  NotebookJson,
  NotebookKernel,
  NotebookRun,
  joinSource,
  predictionsIn,
  runNotebook,
  streamText,
} from "../scripts/run-notebook";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";
import { chromiumMissing } from "./helpers/displayTools";
import { requireTool } from "./helpers/requireTool";
import { SVG_MIME, VEGALITE_MIME, allStdout, cellWith, codeCells, drawInChromium } from "./helpers/notebookRun";

/** The tiny model: 12 layers because the chapter indexes layers 5, 6 and 11. */
const TINY = { nLayers: 12, nHeads: 4, dModel: 32, nCtx: 64, dVocab: 50257 };
const PROMPT_TOKENS = ["<|endoftext|>", "The", " capital", " of", " France", " is"];

/** TransformerLens's parameter count for a processed GPT-2 (LayerNorm folded away, W_U untied), from the shape alone. */
function expectedParameterCount(c: typeof TINY): number {
  const dHead = c.dModel / c.nHeads;
  const dMlp = 4 * c.dModel;
  const perLayer =
    4 * c.nHeads * c.dModel * dHead + // W_Q, W_K, W_V, W_O
    3 * c.nHeads * dHead + c.dModel + // b_Q, b_K, b_V, b_O
    2 * c.dModel * dMlp + dMlp + c.dModel; // W_in, W_out, b_in, b_out
  return c.dVocab * c.dModel + c.nCtx * c.dModel + c.nLayers * perLayer + c.dModel * c.dVocab + c.dVocab;
}

/** The number after `label` in the notebook's stdout. */
function printedNumber(text: string, label: RegExp): number {
  const m = new RegExp(label.source + String.raw`\s*(-?[\d,]+(?:\.\d+)?)`, "m").exec(text);
  assert.ok(m, `no line matching ${label} in:\n${text}`);
  return Number(m[1].replace(/,/g, ""));
}

/** Each kernel's executed notebook, for the comparison at the end. */
const runs: Partial<Record<NotebookKernel, NotebookRun>> = {};
for (const kernel of ["tslab", "deno"] as NotebookKernel[]) describeNotebookRun(kernel);

describe("chapter notebook: the same outputs on both kernels", () => {
  it("every cell prints the same text and shows the same kinds of output under tslab and Deno", function () {
    const { tslab, deno } = runs;
    if (!tslab || !deno) this.skip(); // one of the runs above was skipped or failed, and said why
    const shape = (run: NotebookRun) =>
      codeCells(run.executed).map((c) => ({
        stdout: streamText(c),
        outputs: (c.outputs ?? []).filter((o) => o.output_type !== "stream").map((o) => [o.output_type, Object.keys(o.data ?? {}).sort()]),
      }));
    assert.deepStrictEqual(shape(deno), shape(tslab));
  });
});

function describeNotebookRun(kernel: NotebookKernel): void {
describe(`chapter notebook, headless under the ${kernel} kernel`, function () {
  const root = projectRoot();
  let tmp: string;
  let checkpoint: string;
  let kernelsDir: string;
  let run: NotebookRun;
  let progress: string[];

  before(async function () {
    this.timeout(900_000);
    if (kernel === "deno") requireTool(this, "Deno (the optional dependency deno)", denoMissingReason(root));
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-notebook-test-"));
    checkpoint = path.join(tmp, "checkpoint");
    writeTinyCheckpoint(checkpoint, { ...TINY, seed: 7 });
    kernelsDir = path.join(tmp, "jupyter", "kernels");
    progress = [];
    run = await runNotebook({
      kernelsDir,
      outDir: path.join(tmp, "out"),
      env: { ...process.env, MODEL_OVERRIDE_DIR: checkpoint },
      log: (line) => progress.push(line),
      kernel,
    });
    runs[kernel] = run;
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the committed notebook has no outputs and names the mechinterp-ts kernel", () => {
    const nb = JSON.parse(fs.readFileSync(path.join(root, DEFAULT_NOTEBOOK), "utf8")) as NotebookJson;
    const spec = (nb.metadata as { kernelspec: { name: string; language: string } }).kernelspec;
    assert.deepStrictEqual([spec.name, spec.language], [KERNEL_NAME, "typescript"]);
    for (const cell of codeCells(nb)) {
      assert.deepStrictEqual(cell.outputs, [], `outputs saved in: ${joinSource(cell.source).slice(0, 60)}`);
      assert.strictEqual(cell.execution_count, null);
    }
  });

  // Each run checks its own kernel's kernel.json.
  if (kernel === "tslab") it("registered the kernel where it was told: the shared launcher, this project as the default checkout", function () {
    const spec = JSON.parse(fs.readFileSync(path.join(kernelsDir, KERNEL_NAME, "kernel.json"), "utf8"));
    assert.strictEqual(spec.argv[0], process.execPath);
    assert.strictEqual(spec.argv[1], path.join("{resource_dir}", LAUNCHER_FILE));
    assert.strictEqual(spec.env[CHECKOUT_ENV_VAR], root);
    assert.ok(fs.existsSync(path.join(kernelsDir, KERNEL_NAME, LAUNCHER_FILE)));
    assert.strictEqual(spec.language, "typescript");
  });

  if (kernel === "deno") it("registered Deno's kernel beside it: this checkout's deno binary, permissions stated", function () {
    const spec = JSON.parse(fs.readFileSync(path.join(kernelsDir, DENO_KERNEL_NAME, "kernel.json"), "utf8"));
    assert.deepStrictEqual(spec.argv, [denoBinary(root), "jupyter", "--kernel", "--conn", "{connection_file}"]);
    assert.ok(spec.argv[0].startsWith(path.join(root, "node_modules") + path.sep), spec.argv[0]);
    assert.strictEqual(spec.display_name, "TypeScript (mechinterp-ts, Deno)");
    assert.strictEqual(spec.metadata.permissions.granted, "all");
    assert.deepStrictEqual(Object.keys(spec.metadata.permissions.uses).sort(), ["env", "ffi", "net", "read", "run", "sys", "write"]);
    assert.ok(fs.existsSync(path.join(kernelsDir, KERNEL_NAME, "kernel.json")), "tslab's kernel is registered too");
  });

  it("the Using device line says which native kernels run, or that they are missing and how to build them", () => {
    const line = /^Using device: .*$/m.exec(allStdout(run.executed))?.[0] ?? "";
    if (nativeKernelsStatus().available) assert.match(line, /native kernels: (OpenBLAS|Accelerate|portable SGEMM)\)( \(.+ fits in the wasm heap\))?$/); // then why this backend (src/memory/)
    else assert.match(line, /NO native kernels.*to build them run: npm/);
  });

  it("ran every code cell, in order, without an error output", () => {
    const source = JSON.parse(fs.readFileSync(run.notebook, "utf8")) as NotebookJson;
    const cells = codeCells(run.executed);
    assert.strictEqual(cells.length, codeCells(source).length);
    assert.strictEqual(run.codeCells, cells.length);
    cells.forEach((cell, i) => {
      assert.strictEqual(cell.execution_count, i + 1, `cell ${i + 1} execution_count`);
      const errors = (cell.outputs ?? []).filter((o) => o.output_type === "error");
      assert.deepStrictEqual(errors, [], `error in: ${joinSource(cell.source).slice(0, 60)}`);
    });
    assert.ok(progress.some((l) => l.includes(`[${cells.length}/${cells.length}]`)), "progress shows every cell");
  });

  it("prints what the original prints, with the tiny model's facts", () => {
    const out = allStdout(run.executed);
    const expectedLines = [
      /^Using device: \S.*$/m,
      /^Model: GPT-2 Small$/m,
      new RegExp(`^  Layers: ${TINY.nLayers}$`, "m"),
      new RegExp(`^  Attention heads per layer: ${TINY.nHeads}$`, "m"),
      new RegExp(`^  Model dimension \\(d_model\\): ${TINY.dModel}$`, "m"),
      new RegExp(`^  Vocabulary size: ${TINY.dVocab}$`, "m"),
      new RegExp(`^  Total parameters: ${expectedParameterCount(TINY).toLocaleString("en-US")}$`, "m"),
      /^Input: 'The capital of France is'$/m,
      new RegExp(`^Tokens: \\[1,6\\] = ${JSON.stringify(PROMPT_TOKENS).replace(/[[\]|]/g, "\\$&")}$`, "m"),
      new RegExp(`^Output logits shape: \\[1,6,${TINY.dVocab}\\]$`, "m"),
      /^Cached 208 activation tensors$/m,
      /^Top 10 predictions:$/m,
      new RegExp(`^Attention pattern shape: \\[1,${TINY.nHeads},6,6\\]$`, "m"),
      new RegExp(`^  After embedding: \\[1,6,${TINY.dModel}\\]$`, "m"),
      new RegExp(`^  After layer 6: \\[1,6,${TINY.dModel}\\]$`, "m"),
      new RegExp(`^  After layer 11: \\[1,6,${TINY.dModel}\\]$`, "m"),
      /^Cosine similarity of residual stream \(last position\):$/m,
      /^  Layer 0 ↔ Layer 6:  -?\d\.\d{3}$/m,
      /^  Layer 6 ↔ Layer 11: -?\d\.\d{3}$/m,
      /^  Layer 0 ↔ Layer 11: -?\d\.\d{3}$/m,
      /^Attention output norm: \d+\.\d{2}$/m,
      /^MLP output norm: \d+\.\d{2}$/m,
    ];
    for (const re of expectedLines) assert.match(out, re);
    const top = predictionsIn(run.executed, 10).lines;
    assert.strictEqual(top.length, 10);
    top.forEach((line, i) => assert.match(line, new RegExp(`^${i + 1}\\. '.*' \\(logit=-?\\d+\\.\\d{2}, prob=\\d+\\.\\d%\\)$`, "s")));
  });

  it("prints the same numbers the library computes in this process", async () => {
    const out = allStdout(run.executed);
    const model = await HookedTransformer.fromPretrained(checkpoint, { warn: () => {} });
    const before = tf.memory().numTensors;
    const tokens = model.toTokens("The capital of France is");
    const [logits, cache] = model.runWithCache(tokens);
    try {
      const last = (name: string, layer: number) => tf.tidy(() => at(cache.get(name, layer) as tf.Tensor3D, 0, -1).arraySync());
      const finalLogits = at(logits, 0, -1);
      const top = topK(finalLogits, 10);
      const probs = softmax(finalLogits);
      const expectedTop = top.indices.map(
        (idx, i) => `${i + 1}. '${model.toString(idx)}' (logit=${top.values[i].toFixed(2)}, prob=${(item(probs, idx) * 100).toFixed(1)}%)`
      );
      tf.dispose([finalLogits, probs]);
      assert.deepStrictEqual(predictionsIn(run.executed, 10).lines, expectedTop);
      const cos = (a: number[], b: number[]) => cosineSimilarity(a, b).toFixed(3);
      assert.strictEqual(printedNumber(out, /Layer 0 ↔ Layer 6:/).toFixed(3), cos(last("resid_pre", 0), last("resid_pre", 6)));
      assert.strictEqual(printedNumber(out, /Layer 6 ↔ Layer 11:/).toFixed(3), cos(last("resid_pre", 6), last("resid_post", 11)));
      assert.strictEqual(printedNumber(out, /Attention output norm:/).toFixed(2), norm(last("attn_out", 5)).toFixed(2));
      assert.strictEqual(printedNumber(out, /MLP output norm:/).toFixed(2), norm(last("mlp_out", 5)).toFixed(2));
    } finally {
      tf.dispose([tokens, logits]);
      cache.dispose();
    }
    assert.strictEqual(tf.memory().numTensors, before, "the comparison leaked tensors");
  });

  const charts: Array<{ marker: string; what: string }> = [
    { marker: "cv.attention.attentionPatterns(", what: "attention viewer" },
    { marker: "plt.imshow(", what: "one-head heatmap" },
    { marker: "plt.plot(", what: "residual-norm line" },
    { marker: "plt.bar(", what: "attention-vs-MLP bars" },
  ];
  for (const { marker, what } of charts) {
    it(`draws the ${what} as one output with the Vega-Lite spec, SVG and text`, () => {
      const cell = cellWith(run.executed, marker);
      const bundles = (cell.outputs ?? []).filter((o) => o.data && VEGALITE_MIME in o.data);
      assert.strictEqual(bundles.length, 1, `${what}: outputs ${JSON.stringify((cell.outputs ?? []).map((o) => Object.keys(o.data ?? {})))}`);
      const data = bundles[0].data as Record<string, unknown>;
      const spec = data[VEGALITE_MIME] as { $schema?: string };
      assert.match(String(spec.$schema), /vega-lite\/v5/);
      const svg = joinSource(data[SVG_MIME] as string | string[]);
      assert.match(svg, /^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/);
      assert.ok("text/plain" in data, "text/plain fallback");
    });
  }

  it("every chart output in the notebook is one of the four", () => {
    const n = run.executed.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data && VEGALITE_MIME in o.data).length;
    assert.strictEqual(n, charts.length);
  });

  it("wrote the executed notebook and its HTML page", () => {
    assert.ok(fs.existsSync(run.outNotebook));
    const html = fs.readFileSync(run.outHtml, "utf8");
    assert.match(html, /<html/i);
    assert.ok(html.includes("Chapter 2: Transformers"), "page carries the notebook's text");
    assert.ok(!/https?:\/\/[^"'\s]*(cdn|jsdelivr|unpkg)/i.test(html), "no CDN scripts: the page works offline");
  });

  it("the HTML page draws every chart in headless Chromium with no console errors or network requests", async function () {
    requireTool(this, "Chromium", chromiumMissing());
    const { drawn, problems } = await drawInChromium(run.outHtml, charts.length);
    assert.strictEqual(drawn, charts.length);
    assert.deepStrictEqual(problems, []);
  });

  it("a second set-up is quick and does not check the kernel again", async () => {
    const t0 = Date.now();
    const again = await setup({ kernelsDir, log: () => {} });
    assert.strictEqual(again.verified, "before");
    if (kernel === "deno") assert.strictEqual(again.deno.kernelFile !== undefined && again.deno.verified, "before");
    assert.ok(Date.now() - t0 < 5000, `second set-up took ${Date.now() - t0} ms`);
  });

  it("a failing cell stops the run with a message naming the cell and its error", async () => {
    const bad: NotebookJson = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: KERNEL_NAME, display_name: KERNEL_NAME, language: "typescript" } },
      cells: [
        { cell_type: "markdown", source: "# Broken", metadata: {} },
        { cell_type: "code", source: "console.log('first');", metadata: {}, outputs: [], execution_count: null },
        { cell_type: "code", source: "const n: number = 1;\nthrow new Error('deliberate failure ' + n);", metadata: {}, outputs: [], execution_count: null },
        { cell_type: "code", source: "console.log('never');", metadata: {}, outputs: [], execution_count: null },
      ],
    };
    const file = path.join(tmp, "broken.ipynb");
    fs.writeFileSync(file, JSON.stringify(bad));
    await assert.rejects(
      runNotebook({ notebook: file, kernelsDir, outDir: path.join(tmp, "broken-out"), log: () => {}, kernel }),
      (err: Error) => {
        assert.ok(err instanceof NotebookCellError, String(err));
        assert.match(err.message, /broken\.ipynb failed in code cell 2 \(cell 3 of the notebook\)/);
        assert.match(err.message, /> const n: number = 1;/);
        assert.match(err.message, /deliberate failure 1/);
        const partial = JSON.parse(fs.readFileSync((err as NotebookCellError).outNotebook, "utf8")) as NotebookJson;
        assert.strictEqual(streamText(partial.cells[1]), "first\n");
        assert.deepStrictEqual(partial.cells[3].outputs, []);
        return true;
      }
    );
  });
});
}
