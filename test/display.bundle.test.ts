/**
 * MIME bundles and the display channel: a bundle carries the Vega-Lite 5 spec, the SVG and text;
 * `display` sends it as ONE message through tslab's display writer when a kernel is running, falls
 * back to one MIME type through tslab's public API, to Deno's kernel, or to a line of text in plain
 * Node. The tslab and Deno kernels are imitated here by their documented shapes; the real kernel
 * is exercised in display.kernel.test.ts.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { inspect } from "util";
import {
  Chart,
  JUPYTER_DISPLAY,
  PNG_MIME,
  SVG_MIME,
  TEXT_MIME,
  VEGALITE_MIME,
  attentionPatterns,
  cv,
  display,
  px,
  plt,
  toBundle,
  type DisplayDataContent,
  type DisplayRoute,
  type MimeBundle,
  type VegaLiteSpec,
} from "../src/display";
import { TOKENS, causalAttention, chapterCharts } from "./helpers/displayFixtures";

/** Every chart bundle: the spec, an SVG, a PNG and a text line. */
const ALL_FOUR = [SVG_MIME, PNG_MIME, VEGALITE_MIME, TEXT_MIME].sort();

interface SentMessage {
  content: DisplayDataContent;
  update: boolean;
}

/**
 * Loads a stand-in for tslab's dist/jupyter.js from a temp node_modules (so it sits in
 * require.cache under a .../tslab/dist/jupyter.js path, as the kernel's copy does) and installs a
 * writer that records messages. Returns the recorder and an uninstaller.
 */
function fakeTslabKernel(): { sent: SentMessage[]; uninstall: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-tslab-"));
  const file = path.join(dir, "node_modules", "tslab", "dist", "jupyter.js");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "exports.lastWriteDisplayData = null;\n");
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mod = require(file) as { lastWriteDisplayData: unknown };
  const sent: SentMessage[] = [];
  mod.lastWriteDisplayData = (content: DisplayDataContent, update: boolean) => sent.push({ content, update });
  return {
    sent,
    uninstall: () => {
      delete require.cache[require.resolve(file)];
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Captures what is written to stdout/stderr while `fn` runs. */
function captureOutput(fn: () => void): { stdout: string; stderr: string } {
  const out = { stdout: "", stderr: "" };
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((out.stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((out.stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
  return out;
}

const charts = chapterCharts();

describe("display: MIME bundles and the display channel", function () {
  this.timeout(60_000);

  it("a bundle carries the v5 spec, the SVG and a text line", () => {
    for (const [name, spec] of Object.entries(charts)) {
      const bundle = toBundle(spec);
      assert.deepStrictEqual(Object.keys(bundle).sort(), ALL_FOUR, name);
      assert.strictEqual(bundle[VEGALITE_MIME], spec);
      assert.match(bundle[SVG_MIME] as string, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.match(bundle[TEXT_MIME] as string, /^<.+>$/);
    }
    assert.strictEqual(toBundle(charts.heatmap)[TEXT_MIME], "<Figure (imshow 8×8): Attention Pattern: Layer 5, Head 0>");
    assert.strictEqual(toBundle(charts.attention)[TEXT_MIME], "<Attention patterns: 12 heads × 8 tokens: Layer 5>");
  });

  describe("inside a tslab kernel", () => {
    let kernel: ReturnType<typeof fakeTslabKernel>;
    beforeEach(() => (kernel = fakeTslabKernel()));
    afterEach(() => kernel.uninstall());

    it("display() sends one display_data with all three representations", () => {
      const routes: DisplayRoute[] = [];
      const printed = captureOutput(() => display(new Chart(charts.line), { onRoute: (r) => routes.push(r) }));
      assert.deepStrictEqual(routes, ["tslab-bundle"]);
      assert.strictEqual(kernel.sent.length, 1);
      const { content, update } = kernel.sent[0];
      assert.strictEqual(update, false);
      assert.deepStrictEqual(Object.keys(content.data).sort(), ALL_FOUR);
      assert.deepStrictEqual(content.data[VEGALITE_MIME], charts.line);
      // the 2× PNG is shown at the chart's own size (CSS px = the SVG's size)
      const svgSize = /<svg[^>]*width="(\d+)" height="(\d+)"/.exec(content.data[SVG_MIME] as string)!;
      assert.deepStrictEqual(content.metadata, { [PNG_MIME]: { width: Number(svgSize[1]), height: Number(svgSize[2]) } });
      assert.strictEqual(printed.stdout, "", "nothing printed besides the message");
    });

    it("plt.show() and attentionPatterns() display synchronously and return undefined", () => {
      plt.figure({ figsize: [4, 3] });
      plt.plot([1, 2, 3], "o-");
      const fromShow = plt.show();
      const fromViewer = attentionPatterns({ tokens: TOKENS, attention: causalAttention(2, TOKENS.length) });
      assert.strictEqual(fromShow, undefined);
      assert.strictEqual(fromViewer, undefined);
      assert.strictEqual(kernel.sent.length, 2, "both sent before returning");
      assert.match(String(kernel.sent[1].content.data[TEXT_MIME]), /Attention patterns: 2 heads × 8 tokens/);
      assert.ok(kernel.sent.every((m) => typeof m.content.data[SVG_MIME] === "string"));
    });

    it("display(cv.attention.attentionPatterns(...)) shows the viewer once, as the Python display(cv...) does", () => {
      const printed = captureOutput(() => display(cv.attention.attentionPatterns({ tokens: TOKENS, attention: causalAttention(3, TOKENS.length) })));
      assert.strictEqual(kernel.sent.length, 1);
      assert.deepStrictEqual(Object.keys(kernel.sent[0].content.data).sort(), ALL_FOUR);
      assert.match(String(kernel.sent[0].content.data[TEXT_MIME]), /Attention patterns: 3 heads × 8 tokens/);
      assert.strictEqual(printed.stdout + printed.stderr, "");
      display(undefined); // what plt.show() returns, too: nothing more is sent
      assert.strictEqual(kernel.sent.length, 1);
    });

    it("px.bar(...).show() sends one bundle like every chart", () => {
      px.bar([{ layer: 0, v: 1 }, { layer: 1, v: -1 }], { x: "layer", y: "v" }).show();
      assert.strictEqual(kernel.sent.length, 1);
      assert.deepStrictEqual(Object.keys(kernel.sent[0].content.data).sort(), ALL_FOUR);
    });

    it("a spec vega cannot render still goes out, interactive-only, with the reason on stderr", () => {
      const broken: VegaLiteSpec = {
        data: { values: [{ a: 1 }] },
        mark: "point",
        encoding: { color: { field: "a", type: "quantitative", scale: { scheme: "no-such-scheme" } } },
      };
      const printed = captureOutput(() => display(broken));
      assert.strictEqual(kernel.sent.length, 1);
      assert.deepStrictEqual(Object.keys(kernel.sent[0].content.data).sort(), [VEGALITE_MIME, TEXT_MIME].sort());
      assert.match(printed.stderr, /no static SVG for this chart \(Vega could not render the chart: .*no-such-scheme/);
    });

    it("passes a ready bundle through unchanged", () => {
      const bundle: MimeBundle = { "text/html": "<b>hi</b>", [TEXT_MIME]: "hi" };
      display(bundle);
      assert.deepStrictEqual(kernel.sent[0].content.data, bundle);
    });
  });

  it("falls back to tslab's public display.raw with the SVG alone when the writer is unavailable", () => {
    const raw: Array<[string, string]> = [];
    const g = globalThis as { __tslab__?: unknown };
    g.__tslab__ = { require: (id: string) => (id === "tslab" ? { display: { raw: (m: string, d: string) => raw.push([m, d]) } } : null) };
    try {
      const routes: DisplayRoute[] = [];
      display(charts.bars, { onRoute: (r) => routes.push(r) });
      assert.deepStrictEqual(routes, ["tslab-single"]);
      assert.strictEqual(raw.length, 1);
      assert.strictEqual(raw[0][0], SVG_MIME);
      assert.match(raw[0][1], /^<svg /);
    } finally {
      delete g.__tslab__;
    }
  });

  it("sends the bundle to Deno's kernel when running there", async () => {
    const calls: Array<[unknown, unknown]> = [];
    const g = globalThis as { Deno?: unknown };
    g.Deno = { jupyter: { display: async (obj: unknown, opts: unknown) => void calls.push([obj, opts]) } };
    try {
      const routes: DisplayRoute[] = [];
      display(charts.heatmap, { onRoute: (r) => routes.push(r) });
      assert.deepStrictEqual(routes, ["deno"]);
      assert.strictEqual(calls.length, 1);
      assert.deepStrictEqual(calls[0][1], { raw: true });
      assert.ok(VEGALITE_MIME in (calls[0][0] as object) && SVG_MIME in (calls[0][0] as object));
    } finally {
      delete g.Deno;
    }
  });

  it("under `deno run`, where reading Deno.jupyter throws, prints the text line instead of failing", () => {
    const g = globalThis as { Deno?: unknown };
    g.Deno = {
      get jupyter(): never {
        throw new Error("Deno.jupyter is only available in `deno jupyter` subcommand");
      },
    };
    try {
      const routes: DisplayRoute[] = [];
      const printed = captureOutput(() => display(charts.line, { onRoute: (r) => routes.push(r) }));
      assert.deepStrictEqual(routes, ["stdout"]);
      assert.match(printed.stdout, /^<Figure \(plot, 1 series\)/);
    } finally {
      delete g.Deno;
    }
  });

  it("in plain Node prints one text line (or nothing when asked) and does not throw", () => {
    const routes: DisplayRoute[] = [];
    const printed = captureOutput(() => display(charts.line, { onRoute: (r) => routes.push(r) }));
    assert.strictEqual(printed.stdout, "<Figure (plot, 1 series): How the Residual Stream Grows Through the Network> (save it with saveHtml/saveSvg to see it)\n");
    const quiet = captureOutput(() => display(charts.line, { printOutsideKernel: false, onRoute: (r) => routes.push(r) }));
    assert.strictEqual(quiet.stdout, "");
    assert.deepStrictEqual(routes, ["stdout", "none"]);
  });

  it("Chart implements Symbol.for('Jupyter.display'), JSON and a one-line inspect", () => {
    const chart = new Chart(charts.bars);
    assert.strictEqual(JUPYTER_DISPLAY, Symbol.for("Jupyter.display"));
    const bundle = chart[JUPYTER_DISPLAY]();
    assert.deepStrictEqual(Object.keys(bundle).sort(), ALL_FOUR);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(chart)), charts.bars);
    assert.strictEqual(inspect(chart), "Chart <Figure (bar, 2 series): Attention vs MLP Contribution by Layer>");
  });

  it("rejects values it cannot display, saying what it takes", () => {
    assert.throws(() => display(42 as never), /display\(\) takes a Chart, a Vega-Lite spec object or a MIME bundle, but got number/);
    assert.throws(() => display([1, 2] as never), /but got an array/);
  });
});
