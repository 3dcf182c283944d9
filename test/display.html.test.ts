/**
 * HTML export in Node: pages embed the vega libraries from node_modules (inline or copied beside),
 * never from a network; chart ids are fresh; data cannot break out of its <script>; executed
 * notebooks become one page with markdown, code, streams, errors and live charts. (That the pages
 * draw is checked in Chromium by browser.display.test.ts.)
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SVG_MIME, TEXT_MIME, VEGALITE_MIME, heatmapSpec, notebookToHtml, saveHtml, toBundle, toHtmlPage } from "../src/display";
import { chapterCharts } from "./helpers/displayFixtures";

const charts = chapterCharts();

/** The `src` of every script element, and whether any script loads from a URL. */
function scriptSources(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*\bsrc="([^"]*)"/g)].map((m) => m[1]);
}

describe("display: HTML export", function () {
  this.timeout(60_000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "display-html-"))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("inlines vega, vega-lite and vega-embed in load order, with no external scripts or source maps", () => {
    const html = toHtmlPage(Object.values(charts), { title: "Chapter 2 charts" });
    const libs = [...html.matchAll(/<script data-library="([^"]+)">/g)].map((m) => m[1]);
    assert.deepStrictEqual(libs, ["vega", "vega-lite", "vega-embed"]);
    assert.deepStrictEqual(scriptSources(html), []);
    assert.doesNotMatch(html, /<link\b/);
    assert.doesNotMatch(html, /sourceMappingURL/);
    assert.match(html, /<title>Chapter 2 charts<\/title>/);
    const ids = [...html.matchAll(/<div id="(vega-chart-[^"]+)" class="chart">/g)].map((m) => m[1]);
    assert.strictEqual(ids.length, 4);
    assert.strictEqual(new Set(ids).size, 4, "every chart has its own element id");
    assert.ok(html.length > 700_000, "the libraries are really inside the page");
  });

  it("keeps data inside its script even when a token looks like markup", () => {
    const spec = heatmapSpec({ values: [[1]], xTicks: { positions: [0], labels: ["</script><b>x"] } });
    const html = toHtmlPage(spec);
    assert.ok(!html.includes("</script><b>x"));
    assert.ok(html.includes("\\u003c/script>\\u003cb>x"));
  });

  it("shows a bundle's SVG as the fallback until the live chart draws", () => {
    const html = toHtmlPage(toBundle(charts.line));
    assert.match(html, /<img class="chart-fallback" alt="chart \(static rendering\)" src="data:image\/svg\+xml;base64,/);
    assert.throws(() => toHtmlPage({ [SVG_MIME]: "<svg/>", [TEXT_MIME]: "x" }), /without "application\/vnd\.vegalite\.v5\+json" cannot be drawn live/);
  });

  it("saveHtml can copy the libraries beside the page instead", () => {
    const file = path.join(tmp, "beside", "chart.html");
    saveHtml(charts.bars, file, { scripts: "beside", title: "Bars" });
    const html = fs.readFileSync(file, "utf8");
    assert.deepStrictEqual(scriptSources(html), ["vega/vega.min.js", "vega/vega-lite.min.js", "vega/vega-embed.min.js"]);
    for (const src of scriptSources(html)) assert.ok(fs.statSync(path.join(tmp, "beside", src)).size > 50_000, src);
    assert.ok(html.length < 100_000, "nothing inlined");
  });

  describe("notebookToHtml", () => {
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        { cell_type: "markdown", metadata: {}, source: ["# Chapter 2: Transformers\n", "\n", "**What you'll do:** see [the chapter](https://example.org/ch2).\n", "1. Load\n", "2. Look"] },
        {
          cell_type: "code",
          execution_count: 1,
          metadata: {},
          source: "console.log(`Tokens: ${tokens}`);\nif (a < b && c > d) {}",
          outputs: [
            { output_type: "stream", name: "stdout", text: ["Input: 'The capital'\n"] },
            { output_type: "stream", name: "stdout", text: "Tokens: 6\n" },
            { output_type: "stream", name: "stderr", text: "warning <x>\n" },
          ],
        },
        {
          cell_type: "code",
          execution_count: 2,
          metadata: {},
          source: "plt.show()",
          outputs: [{ output_type: "display_data", metadata: {}, data: toBundle(charts.heatmap) }],
        },
        {
          cell_type: "code",
          execution_count: 3,
          metadata: {},
          source: "display.svg(...)",
          outputs: [
            { output_type: "display_data", metadata: {}, data: { [SVG_MIME]: ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">", "</svg>"], [TEXT_MIME]: "svg" } },
            { output_type: "execute_result", execution_count: 3, metadata: {}, data: { [TEXT_MIME]: "42 < 43" } },
          ],
        },
        {
          cell_type: "code",
          execution_count: 4,
          metadata: {},
          source: "boom()",
          outputs: [{ output_type: "error", ename: "ReferenceError", evalue: "boom is not defined", traceback: ["\u001b[31mReferenceError\u001b[0m: boom is not defined"] }],
        },
      ],
    };

    it("renders markdown, escaped code, merged streams, rich outputs and errors", () => {
      const html = notebookToHtml(JSON.stringify(notebook));
      assert.match(html, /<title>Chapter 2: Transformers<\/title>/);
      assert.match(html, /<h1>Chapter 2: Transformers<\/h1>/);
      assert.match(html, /<strong>What you&#39;ll do:<\/strong> see <a href="https:\/\/example\.org\/ch2">the chapter<\/a>/);
      assert.match(html, /<ol>\s*<li>Load<\/li>\s*<li>Look<\/li>\s*<\/ol>/);
      assert.ok(html.includes("if (a &lt; b &amp;&amp; c &gt; d) {}"));
      assert.ok(html.includes(`<pre class="stream stdout">Input: 'The capital'\nTokens: 6\n</pre>`), "stdout chunks merged");
      assert.ok(html.includes(`<pre class="stream stderr">warning &lt;x&gt;\n</pre>`));
      assert.match(html, /In \[2\]:/);
      assert.strictEqual((html.match(/class="chart-box"/g) ?? []).length, 1, "the Vega-Lite output is drawn live");
      assert.strictEqual((html.match(/class="chart-fallback"/g) ?? []).length, 1, "with its SVG as fallback");
      assert.match(html, /<img class="static-output" alt="figure" src="data:image\/svg\+xml;base64,/);
      assert.ok(html.includes(`<pre class="text-output">42 &lt; 43</pre>`));
      assert.ok(html.includes(`<pre class="error-output">ReferenceError: boom is not defined</pre>`), "ANSI colours stripped");
      assert.strictEqual((html.match(/<script data-library="vega">/g) ?? []).length, 1);
      assert.ok(html.includes(JSON.stringify(charts.heatmap.title)));
    });

    it("leaves the libraries out when there is no chart, and takes an explicit title", () => {
      const plain = { ...notebook, cells: notebook.cells.filter((c) => !c.outputs?.some((o) => "data" in o && VEGALITE_MIME in (o.data ?? {}))) };
      const html = notebookToHtml(plain, { title: "Plain" });
      assert.doesNotMatch(html, /data-library/);
      assert.match(html, /<title>Plain<\/title>/);
      assert.ok(html.length < 20_000);
    });

    it("rejects what is not an nbformat 4 notebook", () => {
      assert.throws(() => notebookToHtml({ nbformat: 3, cells: [] }), /nbformat 3 is not supported/);
      assert.throws(() => notebookToHtml("{\"worksheets\": []}"), /not a notebook \(expected \.ipynb JSON with a `cells` array\)/);
    });
  });
});
