/**
 * `npm run notebook`'s runner (scripts/run-notebook.ts): every notebook in the book's order, set-up
 * once, a failing notebook reported without stopping the rest, the environment (MODEL_OVERRIDE_DIR)
 * reaching every kernel; and a model fix the analysis notebooks rely on (weight stacks read inside
 * a caller's tf.tidy). Needs Jupyter, as test/notebook.test.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KERNEL_NAME } from "../kernel-setup/kernelspec";
import { HookedTransformer, tf } from "../src";
import {
  BOOK_ORDER, NotebookCellError, NotebookJson, NotebookRun, notebooksIn, runNotebooks, streamText, summarize,
} from "../scripts/run-notebook";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";

describe("model weight stacks read inside tf.tidy", () => {
  it("model.W_O first read inside tf.tidy survives the tidy (the notebooks' headAttribution does this)", async function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-wo-"));
    try {
      writeTinyCheckpoint(dir, { nLayers: 2, nHeads: 2, dModel: 8, nCtx: 8, dVocab: 50257, seed: 3 });
      const model = await HookedTransformer.fromPretrained(dir, { warn: () => {} });
      try {
        const before = tf.memory().numTensors;
        const first = tf.tidy(() => tf.sum(model.W_O).dataSync()[0]);
        const second = tf.tidy(() => tf.sum(model.W_O).dataSync()[0]);
        assert.strictEqual(second, first);
        assert.ok(!model.W_O.isDisposed);
        assert.strictEqual(tf.memory().numTensors, before + 1, "only the model's own stacked W_O stays");
      } finally {
        model.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("npm run notebook: every notebook, in the book's order", function () {
  this.timeout(300_000);
  const tiny = (lines: string[]): NotebookJson => ({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: KERNEL_NAME, display_name: KERNEL_NAME, language: "typescript" } },
    cells: [
      { cell_type: "markdown", source: "# Tiny", metadata: {} },
      ...lines.map((source): NotebookJson["cells"][number] => ({ cell_type: "code", source, metadata: {}, outputs: [], execution_count: null })),
    ],
  });
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-runall-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("lists the book's notebooks first, in reading order, then any others by name; not out/", () => {
    const dir = path.join(tmp, "order");
    fs.mkdirSync(path.join(dir, "out"), { recursive: true });
    const names = ["exercises", "zz-mine", "09-sparse-autoencoders", "02-transformers", "a-mine", "13-induction-heads", "first-analysis"];
    for (const n of names) fs.writeFileSync(path.join(dir, `${n}.ipynb`), "{}");
    fs.writeFileSync(path.join(dir, "out", "02-transformers.ipynb"), "{}");
    fs.writeFileSync(path.join(dir, "notes.md"), "");
    assert.deepStrictEqual(notebooksIn(dir).map((f) => path.basename(f, ".ipynb")), [...BOOK_ORDER, "a-mine", "zz-mine"]);
    assert.deepStrictEqual([...BOOK_ORDER], ["02-transformers", "first-analysis", "13-induction-heads", "exercises", "09-sparse-autoencoders"]);
  });

  it("sets up once, runs each in turn, and carries on past a failing one, reporting it", async () => {
    const dir = path.join(tmp, "run");
    fs.mkdirSync(dir);
    const files = ["02-transformers", "first-analysis", "exercises"].map((n) => path.join(dir, `${n}.ipynb`));
    fs.writeFileSync(files[0], JSON.stringify(tiny(["console.log('one');"])));
    fs.writeFileSync(files[1], JSON.stringify(tiny(["throw new Error('second fails');"])));
    fs.writeFileSync(files[2], JSON.stringify(tiny(["console.log('three');", "console.log(process.env.MODEL_OVERRIDE_DIR);"])));
    const log: string[] = [];
    const done: string[] = [];
    const outcomes = await runNotebooks({
      notebooks: notebooksIn(dir),
      kernelsDir: path.join(tmp, "kernels"),
      outDir: path.join(dir, "out"),
      env: { ...process.env, MODEL_OVERRIDE_DIR: "/nowhere/in/particular" },
      fetchWeights: false,
      log: (l) => log.push(l),
      onDone: (nb) => done.push(path.basename(nb)),
    });
    assert.deepStrictEqual(outcomes.map((o) => [path.basename(o.notebook), "run" in o]), [
      ["02-transformers.ipynb", true], ["first-analysis.ipynb", false], ["exercises.ipynb", true],
    ]);
    assert.deepStrictEqual(done, ["02-transformers.ipynb", "first-analysis.ipynb", "exercises.ipynb"]);
    // One registration per kernel (tslab's, and Deno's where the optional deno is installed) for all three.
    assert.strictEqual(log.filter((l) => l.startsWith(`Registered the Jupyter kernel "${KERNEL_NAME}" in`)).length, 1, "one set-up for all three");
    assert.ok(log.filter((l) => l.startsWith("Registered the Jupyter kernel")).length <= 2, log.join("\n"));
    assert.strictEqual(log.filter((l) => l.startsWith("Running ")).length, 3);
    const failed = outcomes[1] as { error: Error };
    assert.ok(failed.error instanceof NotebookCellError);
    assert.match(failed.error.message, /second fails/);
    const third = (outcomes[2] as { run: NotebookRun }).run;
    assert.strictEqual(streamText(third.executed.cells[2]), "/nowhere/in/particular\n", "the environment reaches every kernel");
    for (const o of outcomes) {
      const base = path.basename(o.notebook, ".ipynb");
      assert.ok(fs.existsSync(path.join(dir, "out", `${base}.ipynb`)), `${base}: executed copy`);
      assert.ok(fs.existsSync(path.join(dir, "out", `${base}.html`)), `${base}: web page`);
    }
    const summary = summarize(third, dir);
    assert.deepStrictEqual(summary, [
      `Ran 2 code cells of exercises.ipynb in ${third.seconds.toFixed(1)}s (0 charts).`,
      `  executed notebook: ${path.join("out", "exercises.ipynb")}`,
      `  web page:          ${path.join("out", "exercises.html")}   (open it in a browser; works offline)`,
    ]);
  });
});
