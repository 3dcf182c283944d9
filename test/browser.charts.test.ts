/**
 * Issue 13 in a real browser (Debian's /usr/bin/chromium via playwright-core):
 *  - the long-prompt attention viewer and a large heatmap, drawn as pictures, still draw offline
 *    and give query, key and weight (row, column, value) on hover in the interactive view, whose
 *    subtitle is the interactive hint, not the static caption;
 *  - an executed notebook opened *untrusted* in the classic Notebook (jupyter-notebook 6 at
 *    /usr/bin/jupyter-notebook) shows every chart as the bundle's PNG (it refuses the SVG), at the
 *    chart's size; a screenshot is written to the test's temporary folder.
 * Skips with a message when Chromium or jupyter-notebook is missing.
 */
import * as assert from "assert";
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import type { Browser, Page } from "playwright-core";
import { INTERACTIVE_HINT, STATIC_CAPTION, attentionPatternsSpec, bundleMetadata, heatmapSpec, saveHtml, toBundle } from "../src/display";
import { causalAttention, chapterCharts } from "./helpers/displayFixtures";
import { chromiumMissing, launchChromium, watchPage } from "./helpers/displayTools";

const JUPYTER_NOTEBOOK = "/usr/bin/jupyter-notebook";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

describe("display: pictures and PNGs in a browser", function () {
  this.timeout(180_000);
  let browser: Browser;
  let tmp: string;

  before(async function () {
    const missing = chromiumMissing();
    if (missing) {
      console.log(`    skipping browser tests: ${missing}`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "display-charts-"));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function openSaved(name: string, spec: Record<string, unknown>): Promise<{ page: Page; errors: string[]; network: string[] }> {
    const file = path.join(tmp, `${name}.html`);
    saveHtml(spec, file);
    const page = await browser.newPage({ viewport: { width: 1300, height: 1100 } });
    const watch = await watchPage(page);
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => document.querySelector(".vega-embed svg.marks image, .chart-error") !== null);
    return { page, ...watch };
  }

  /** Hovers the point at fraction (fx, fy) of the largest picture and returns the tooltip's text. */
  async function hoverPicture(page: Page, fx: number, fy: number): Promise<string> {
    const boxes = await page.$$eval(".vega-embed svg.marks image", (els) => els.map((e) => e.getBoundingClientRect().toJSON() as DOMRect));
    const big = boxes.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
    await page.mouse.move(big.x + fx * big.width, big.y + fy * big.height);
    await page.waitForSelector("#vg-tooltip-element.visible", { timeout: 5000 });
    return (await page.textContent("#vg-tooltip-element")) ?? "";
  }

  it("the 12 heads × 200 tokens viewer hovers to query, key and the block's largest weight", async () => {
    const n = 200;
    const attention = causalAttention(12, n);
    const tokens = Array.from({ length: n }, (_, i) => ` w${i}`);
    const { page, errors, network } = await openSaved("viewer", attentionPatternsSpec({ tokens, attention }));
    try {
      const texts = await page.$$eval(".vega-embed svg.marks text", (els) => els.map((e) => e.textContent ?? ""));
      assert.ok(texts.includes(INTERACTIVE_HINT) && !texts.includes(STATIC_CAPTION), "the live view gives the hint");
      // head 0 is shown; hover cell (query 152, key 151), in the 5 × 5 block of queries and keys 150–154
      const tip = await hoverPicture(page, 151.5 / n, 152.5 / n);
      let best = { q: -1, k: -1, w: -Infinity };
      for (let q = 150; q < 155; q++) for (let k = 150; k <= q; k++) if (attention[0][q][k] > best.w) best = { q, k, w: attention[0][q][k] };
      assert.match(tip, new RegExp(`query token\\s*w${best.q}(?!\\d)`), tip);
      assert.match(tip, new RegExp(`key token\\s*w${best.k}(?!\\d)`), tip);
      assert.ok(tip.includes(best.w.toFixed(3)), `${tip} has ${best.w.toFixed(3)}`);
      assert.deepStrictEqual(errors, []);
      assert.deepStrictEqual(network, []);
    } finally {
      await page.close();
    }
  });

  it("a 100 × 100 heatmap picture hovers to rows, columns and the largest value", async () => {
    const values = Array.from({ length: 100 }, (_, r) => Array.from({ length: 100 }, (_, c) => r * 1000 + c));
    const { page, errors } = await openSaved("heatmap", heatmapSpec({ values, colorbar: true }));
    try {
      const tip = await hoverPicture(page, 41 / 100, 71 / 100); // cell (71, 41): block rows 70–71, columns 40–41
      assert.match(tip, /row\s*70–71/, tip);
      assert.match(tip, /column\s*40–41/, tip);
      assert.ok(tip.includes((71 * 1000 + 41).toFixed(3).replace(/\B(?=(\d{3})+(?!\d))/g, ",")) || tip.includes(String(71041)), tip);
      assert.deepStrictEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  describe("an untrusted notebook in the classic Notebook", function () {
    let server: ChildProcess | undefined;
    let port = 0;
    before(async function () {
      if (!fs.existsSync(JUPYTER_NOTEBOOK)) {
        console.log(`    skipping: ${JUPYTER_NOTEBOOK} is not installed`);
        this.skip();
      }
      const charts = chapterCharts();
      const outputs = Object.values(charts).map((spec) => {
        const bundle = toBundle(spec);
        return { output_type: "display_data", data: bundle, metadata: bundleMetadata(bundle) };
      });
      // No signature: the Notebook treats it as untrusted (as a notebook from elsewhere is).
      const nb = {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: "no-such-kernel", display_name: "none", language: "typescript" } },
        cells: outputs.map((o, i) => ({ cell_type: "code", id: `c${i}`, execution_count: i + 1, metadata: {}, source: `chart ${i}`, outputs: [o] })),
      };
      fs.writeFileSync(path.join(tmp, "charts.ipynb"), JSON.stringify(nb));
      port = await freePort();
      server = spawn(
        JUPYTER_NOTEBOOK,
        ["--no-browser", `--port=${port}`, "--ip=127.0.0.1", "--NotebookApp.token=", "--NotebookApp.password=", `--notebook-dir=${tmp}`, "--allow-root"],
        { stdio: "ignore", env: { ...process.env, JUPYTER_DATA_DIR: path.join(tmp, "jdata"), JUPYTER_RUNTIME_DIR: path.join(tmp, "jrt") } }
      );
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/api`);
          if (res.ok) break;
        } catch {
          // not up yet
        }
        if (Date.now() > deadline) throw new Error("jupyter-notebook did not start within 60 s");
        await new Promise((r) => setTimeout(r, 500));
      }
    });
    after(() => {
      if (server?.pid) server.kill("SIGTERM");
    });

    it("shows every chart as its PNG at the chart's size, refusing the SVG", async () => {
      const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
      const consoleLines: string[] = [];
      page.on("console", (m) => consoleLines.push(m.text()));
      try {
        await page.goto(`http://127.0.0.1:${port}/notebooks/charts.ipynb`);
        await page.waitForFunction(() => document.querySelectorAll(".output_subarea").length >= 4, undefined, { timeout: 60_000 });
        // the notebook names no installed kernel: dismiss the "Kernel not found" dialog (outputs show either way)
        const noKernel = page.locator("button", { hasText: "Continue Without Kernel" });
        if (await noKernel.count()) await noKernel.first().click();
        await page.waitForTimeout(1000);
        const images = await page.$$eval(".output_subarea", (areas) =>
          areas.map((a) => {
            const img = a.querySelector("img") as HTMLImageElement | null;
            return { png: !!img && img.src.startsWith("data:image/png"), loaded: !!img && img.complete && img.naturalWidth > 0, width: img?.width ?? 0, natural: img?.naturalWidth ?? 0, svg: !!a.querySelector("svg.marks, svg") };
          })
        );
        assert.strictEqual(images.length, 4);
        for (const im of images) {
          assert.ok(im.png && im.loaded, JSON.stringify(im));
          assert.strictEqual(im.width * 2, im.natural, "drawn at the chart's size (the PNG is 2×)");
          assert.ok(!im.svg, "the untrusted SVG is not shown");
        }
        assert.ok(consoleLines.some((l) => /Ignoring untrusted image\/svg\+xml/.test(l)), "the Notebook refused the SVG");
        await page.screenshot({ path: path.join(tmp, "untrusted-classic-notebook.png"), fullPage: true });
        if (process.env.CHARTS_SCREENSHOT) fs.copyFileSync(path.join(tmp, "untrusted-classic-notebook.png"), process.env.CHARTS_SCREENSHOT);
      } finally {
        await page.close();
      }
    });
  });
});
