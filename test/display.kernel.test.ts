/**
 * The display path through a real tslab kernel: a temporary notebook, run by nbclient (Debian's
 * python3-nbclient) on this project's kernel spec, imports the package as a learner would
 * (`from "mechinterp-ts"`, type-checked by tslab) and shows charts; each chart must arrive as ONE
 * display_data holding the Vega-Lite 5 spec, the SVG and text, with nothing printed beside it.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KERNEL_NAME, codeNotebook, projectRoot, writeKernelSpec } from "../kernel-setup/kernelspec";
import { ensureSelfLink } from "../kernel-setup/selfLink";
import { PNG_MIME, SVG_MIME, TEXT_MIME, VEGALITE_MIME } from "../src/display";
import { SYSTEM_PYTHON, nbclientMissing } from "./helpers/displayTools";
import { requireTool } from "./helpers/requireTool";

/** Runs the notebook at argv[1] in the kernel argv[3] with cwd argv[4]; writes it to argv[2]. */
const RUNNER = `
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
nb = nbformat.read(sys.argv[1], as_version=4)
client = NotebookClient(nb, kernel_name=sys.argv[3], timeout=240, resources={"metadata": {"path": sys.argv[4]}})
try:
    client.execute()
finally:
    nbformat.write(nb, sys.argv[2])
`;

const CELLS = [
  `import { plt, px, cv, attentionPatterns, display, charts } from "mechinterp-ts";`,
  // 1: the chapter's pattern, no await, plt.show() as the last line
  `plt.figure({ figsize: [4, 3] });\nplt.plot([1, 4, 9], "o-");\nplt.title("kernel line");\nplt.show()`,
  // 2: the viewer as the cell's last expression, like circuitsvis
  `attentionPatterns({ tokens: ["a", " b", " a"], attention: [[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]] })`,
  // 3: awaiting is harmless
  `plt.bar([0, 1], [2, 3], 0.5, { label: "bars" });\nplt.legend();\nawait plt.show();`,
  // 4: display() of a builder's spec
  `display(charts.heatmapSpec({ values: [[1, 2], [3, 4]], title: "kernel heatmap" }))`,
  // 5: tslab sees the package's types: the directive is used only if VEGALITE_MIME is typed string
  `// @ts-expect-error a string is not a number\nconst notANumber: number = charts.VEGALITE_MIME;\nconsole.log(charts.VEGALITE_MIME);`,
  // 6: the induction notebook's subplots cell, as ported (type-checked by tslab)
  `const [fig, axes] = plt.subplots(1, 2, { figsize: [14, 5] });\n` +
    `const im1 = axes[0].imshow([[0.1, 0.9], [0.4, 0.2]], { cmap: "Blues", aspect: "auto" });\n` +
    `axes[0].set_title("Previous Token Scores\\n(Early layers)");\nplt.colorbar(im1, { ax: axes[0] });\n` +
    `const im2 = axes[1].imshow([[0.3, 0.1], [0.8, 0.6]], { cmap: "Reds", aspect: "auto" });\nplt.colorbar(im2, { ax: axes[1] });\n` +
    `plt.tight_layout();\nplt.show();`,
  // 7: markers over a heatmap, then px.bar over a DataFrame's records, then display(cv...)
  `plt.imshow([[1, 0], [0, 1]], { cmap: "Blues" });\nplt.plot(1, 0, "ro", { markersize: 15, fillstyle: "none", markeredgewidth: 2 });\nplt.show();\n` +
    `const rows = [{ layer: 0, component: "attention", diff: 1 }, { layer: 0, component: "mlp", diff: -1 }];\n` +
    `px.bar(rows, { x: "layer", y: "diff", color: "component", barmode: "group", labels: { layer: "Layer" } }).show();\n` +
    `display(cv.attention.attentionPatterns({ tokens: ["a", " b"], attention: [[[1, 0], [0.5, 0.5]]] }));`,
];

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
}

describe("display: through a real tslab kernel (nbclient)", function () {
  this.timeout(300_000);
  let cells: Array<{ outputs: Output[] }>;

  before(function () {
    requireTool(this, "Jupyter's nbclient", nbclientMissing());
    const root = projectRoot();
    ensureSelfLink(root);
    assert.ok(fs.existsSync(path.join(root, "dist", "src", "index.d.ts")), "build first: the notebook imports dist/src");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "display-kernel-"));
    try {
      writeKernelSpec(path.join(tmp, "kernels"), root);
      const input = path.join(tmp, "in.ipynb");
      const output = path.join(tmp, "out.ipynb");
      const nb = codeNotebook(CELLS);
      fs.writeFileSync(input, JSON.stringify(nb));
      const run = spawnSync(SYSTEM_PYTHON, ["-c", RUNNER, input, output, KERNEL_NAME, root], {
        encoding: "utf8",
        env: { ...process.env, JUPYTER_PATH: tmp },
        timeout: 280_000,
      });
      assert.strictEqual(run.status, 0, `nbclient failed:\n${run.stderr.slice(-4000)}`);
      cells = JSON.parse(fs.readFileSync(output, "utf8")).cells;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  const join = (s: unknown) => (Array.isArray(s) ? s.join("") : String(s));

  /** The single display_data of a cell, after checking it is the cell's only output. */
  function onlyDisplay(i: number): Record<string, unknown> {
    const outs = cells[i].outputs;
    assert.deepStrictEqual(
      outs.map((o) => o.output_type),
      ["display_data"],
      `cell ${i}: expected exactly one display_data, got ${JSON.stringify(outs.map((o) => [o.output_type, o.text ?? Object.keys(o.data ?? {})]))}`
    );
    const data = outs[0].data!;
    assert.deepStrictEqual(Object.keys(data).sort(), [PNG_MIME, SVG_MIME, VEGALITE_MIME, TEXT_MIME].sort(), `cell ${i} MIME types`);
    assert.match(join(data[SVG_MIME]), /^<svg /);
    // the PNG (base64) is a PNG, shown at the SVG's size: its metadata halves the 2× pixels
    const png = Buffer.from(join(data[PNG_MIME]), "base64");
    assert.strictEqual(png.subarray(1, 4).toString("ascii"), "PNG");
    const meta = (outs[0] as { metadata?: Record<string, { width: number; height: number }> }).metadata?.[PNG_MIME];
    assert.ok(meta, `cell ${i}: image/png metadata`);
    assert.deepStrictEqual([meta.width * 2, meta.height * 2], [png.readUInt32BE(16), png.readUInt32BE(20)]);
    return data;
  }

  it("subplots, markers over imshow, px.bar and display(cv...) type-check in tslab and display", () => {
    const sub = onlyDisplay(6);
    assert.strictEqual((sub[VEGALITE_MIME] as { hconcat: unknown[] }).hconcat.length, 2);
    const outs = cells[7].outputs;
    assert.deepStrictEqual(outs.map((o) => o.output_type), ["display_data", "display_data", "display_data"], JSON.stringify(outs.map((o) => o.text ?? Object.keys(o.data ?? {}))));
    for (const o of outs) assert.deepStrictEqual(Object.keys(o.data!).sort(), [PNG_MIME, SVG_MIME, VEGALITE_MIME, TEXT_MIME].sort());
    assert.match(join(outs[1].data![TEXT_MIME]), /px\.bar/);
    assert.match(join(outs[2].data![TEXT_MIME]), /Attention patterns: 1 heads × 2 tokens/);
  });

  it("plt.show() without await sends one display_data with spec, SVG and text", () => {
    const data = onlyDisplay(1);
    const spec = data[VEGALITE_MIME] as { title: string; $schema: string };
    assert.strictEqual(spec.title, "kernel line");
    assert.strictEqual(spec.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
    assert.ok(join(data[SVG_MIME]).includes("kernel line"));
  });

  it("attentionPatterns(...) as the last expression shows the viewer and prints nothing", () => {
    const data = onlyDisplay(2);
    assert.match(join(data[TEXT_MIME]), /Attention patterns: 1 heads × 3 tokens/);
    assert.ok(join(data[SVG_MIME]).includes(">Head 0<"));
  });

  it("await plt.show() and display(spec) behave the same", () => {
    assert.ok(join(onlyDisplay(3)[SVG_MIME]).includes(">bars<"));
    assert.strictEqual((onlyDisplay(4)[VEGALITE_MIME] as { title: string }).title, "kernel heatmap");
  });

  it("tslab type-checks imports from the package", () => {
    const outs = cells[5].outputs;
    assert.deepStrictEqual(outs.map((o) => [o.output_type, o.name, join(o.text)]), [["stream", "stdout", `${VEGALITE_MIME}\n`]]);
  });
});
