/**
 * The HTML export in headless Chromium (Debian's /usr/bin/chromium via playwright-core): every
 * chapter chart draws from the inlined libraries with no console error and no network request;
 * the attention viewer changes the head it shows when a head is chosen by slider, hover or click;
 * a chart that cannot be drawn says so inside its own box; an executed notebook's page draws its
 * charts live and drops their static fallbacks.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import type { Browser, Page } from "playwright-core";
import { notebookToHtml, saveHtml, toBundle, type VegaLiteSpec } from "../src/display";
import { chapterCharts } from "./helpers/displayFixtures";
import { chromiumMissing, launchChromium, watchPage, type PageWatch } from "./helpers/displayTools";
import { requireTool } from "./helpers/requireTool";

const charts = chapterCharts();

describe("display: HTML export in headless Chromium", function () {
  this.timeout(120_000);
  let browser: Browser;
  let tmp: string;

  before(async function () {
    requireTool(this, "Chromium", chromiumMissing());
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "display-browser-"));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Opens `html` from a file, waits until every chart box has drawn or failed. */
  async function open(name: string, html: string): Promise<{ page: Page; watch: PageWatch }> {
    const file = path.join(tmp, `${name}.html`);
    fs.writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const watch = await watchPage(page);
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll(".chart-box")).every((box) => box.querySelector(".vega-embed svg.marks, .chart-error"))
    );
    return { page, watch };
  }

  async function textsOf(page: Page): Promise<string[]> {
    return page.$$eval(".vega-embed svg.marks text", (els) => els.map((e) => e.textContent ?? ""));
  }

  it("(the request watch sees and blocks a request that would leave the machine)", async () => {
    const { page, watch } = await open("watch-check", `<!DOCTYPE html><img src="http://example.invalid/x.png"><div class="chart-box"><pre class="chart-error">x</pre></div>`);
    await page.close();
    assert.deepStrictEqual(watch.network, ["http://example.invalid/x.png"]);
  });

  for (const [name, spec] of Object.entries(charts)) {
    it(`draws the ${name} chart offline without console errors`, async () => {
      const file = path.join(tmp, `${name}-saved.html`);
      saveHtml(spec, file, { title: name });
      const { page, watch } = await open(name, fs.readFileSync(file, "utf8"));
      try {
        assert.strictEqual(await page.locator(".chart-error").count(), 0);
        const shapes = await page.locator(".vega-embed svg.marks path").count();
        assert.ok(shapes > 3, `${name}: ${shapes} shapes drawn`);
        const title = typeof spec.title === "string" ? spec.title : (spec.title as { text: string }).text;
        assert.ok((await textsOf(page)).includes(title), `${name}: title "${title}" drawn`);
        assert.deepStrictEqual(watch.errors, []);
        assert.deepStrictEqual(watch.network, []);
      } finally {
        await page.close();
      }
    });
  }

  describe("attention viewer interaction", () => {
    let page: Page;
    let watch: PageWatch;
    before(async () => {
      const file = path.join(tmp, "attention-saved.html");
      saveHtml(charts.attention, file);
      ({ page, watch } = await open("attention-interactive", fs.readFileSync(file, "utf8")));
    });
    after(async () => page?.close());

    /** The head shown large: its label appears twice (thumbnail header + large view's title). */
    async function shownHead(): Promise<number[]> {
      const texts = await textsOf(page);
      const counts = new Map<string, number>();
      for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
      return [...counts].filter(([t, c]) => /^Head \d+$/.test(t) && c === 2).map(([t]) => Number(t.slice(5)));
    }

    async function thumbnailCentre(head: number): Promise<{ x: number; y: number }> {
      const header = page.locator(".vega-embed svg.marks text", { hasText: new RegExp(`^Head ${head}$`) }).first();
      const box = (await header.boundingBox())!;
      return { x: box.x + box.width / 2, y: box.y + box.height + 30 };
    }

    it("starts on head 0", async () => {
      assert.deepStrictEqual(await shownHead(), [0]);
    });

    it("follows the Head slider", async () => {
      await page.$eval("input[type=range]", (el) => {
        (el as HTMLInputElement).value = "3";
        el.dispatchEvent(new Event("input", { bubbles: true }));
      });
      await page.waitForFunction(
        () => Array.from(document.querySelectorAll(".vega-embed svg.marks text")).filter((t) => t.textContent === "Head 3").length === 2
      );
      assert.deepStrictEqual(await shownHead(), [3]);
    });

    it("previews a hovered head and returns to the locked one", async () => {
      const at = await thumbnailCentre(9);
      await page.mouse.move(at.x, at.y);
      await page.waitForTimeout(200);
      assert.deepStrictEqual(await shownHead(), [9]);
      await page.mouse.move(5, 880);
      await page.waitForTimeout(200);
      assert.deepStrictEqual(await shownHead(), [3]);
    });

    it("locks a clicked head and moves the slider to it", async () => {
      const at = await thumbnailCentre(5);
      await page.mouse.click(at.x, at.y);
      await page.mouse.move(5, 880);
      await page.waitForTimeout(200);
      assert.deepStrictEqual(await shownHead(), [5]);
      assert.strictEqual(await page.$eval("input[type=range]", (el) => (el as HTMLInputElement).value), "5");
      assert.deepStrictEqual(watch.errors, []);
      assert.deepStrictEqual(watch.network, []);
    });
  });

  it("shows a chart's render error inside its own box", async () => {
    const broken: VegaLiteSpec = {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      data: { values: [{ a: 1 }] },
      transform: [{ filter: "datum.a +* 2" }],
      mark: "point",
    };
    const file = path.join(tmp, "broken-saved.html");
    saveHtml([broken, charts.line], file);
    const { page, watch } = await open("broken", fs.readFileSync(file, "utf8"));
    try {
      const boxes = page.locator(".chart-box");
      assert.match((await boxes.nth(0).locator(".chart-error").textContent()) ?? "", /^Chart could not be drawn: Unexpected token \*/);
      assert.strictEqual(await boxes.nth(1).locator(".chart-error").count(), 0, "the other chart still draws");
      assert.ok((await boxes.nth(1).locator("svg.marks path").count()) > 3);
      assert.deepStrictEqual(watch.network, []);
    } finally {
      await page.close();
    }
  });

  it("draws an executed notebook's charts live and removes their static fallbacks", async () => {
    const nb = {
      nbformat: 4,
      metadata: {},
      cells: [
        { cell_type: "markdown", source: "# Notebook" },
        { cell_type: "code", execution_count: 1, source: "plt.show()", outputs: [{ output_type: "display_data", data: toBundle(charts.line) }] },
        { cell_type: "code", execution_count: 2, source: "attentionPatterns(...)", outputs: [{ output_type: "display_data", data: toBundle(charts.attention) }] },
      ],
    };
    const { page, watch } = await open("notebook", notebookToHtml(nb));
    try {
      assert.strictEqual(await page.locator(".vega-embed svg.marks").count(), 2);
      await page.waitForFunction(() => document.querySelectorAll(".chart-fallback").length === 0);
      assert.strictEqual(await page.locator("input[type=range]").count(), 1, "the viewer's slider is there");
      assert.deepStrictEqual(watch.errors, []);
      assert.deepStrictEqual(watch.network, []);
    } finally {
      await page.close();
    }
  });
});
