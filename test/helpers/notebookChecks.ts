/**
 * Checks shared by the chapter notebooks' tests, on top of notebookRun.ts: the basic `it`s every
 * ported notebook passes, the heatmap matrices inside a chart's Vega-Lite spec, and one printed
 * number against a reference value at the precision it was printed with.
 */
import * as assert from "assert";
import * as fs from "fs";
import { KERNEL_NAME } from "../../kernel-setup/kernelspec";
import { joinSource } from "../../scripts/run-notebook";
import { HeadlessNotebookRun, chartBundles, codeCells, drawInChromium, errorOutputs, readCommittedNotebook } from "./notebookRun";

/**
 * Registers the checks every ported notebook passes: saved without outputs on the mechinterp-ts
 * kernel, importing only the package root; every code cell ran, in order, without an error; the
 * executed copy and a web page that draws all `charts` charts offline in headless Chromium.
 */
export function itRanEveryCell(notebook: string, charts: number | undefined, get: () => HeadlessNotebookRun): void {
  it("is saved without outputs, on the mechinterp-ts kernel, importing only the package root", () => {
    const nb = readCommittedNotebook(notebook);
    const spec = (nb.metadata as { kernelspec: { name: string; language: string } }).kernelspec;
    assert.deepStrictEqual([spec.name, spec.language], [KERNEL_NAME, "typescript"]);
    for (const cell of codeCells(nb)) {
      assert.deepStrictEqual(cell.outputs, [], `outputs saved in: ${joinSource(cell.source).slice(0, 60)}`);
      assert.strictEqual(cell.execution_count, null);
      for (const m of joinSource(cell.source).matchAll(/from\s+"([^"]+)"/g)) assert.strictEqual(m[1], "mechinterp-ts", `import from ${m[1]}`);
    }
  });

  it("ran every code cell, in order, without an error", () => {
    const { run } = get();
    const cells = codeCells(run.executed);
    assert.strictEqual(cells.length, codeCells(readCommittedNotebook(notebook)).length);
    assert.strictEqual(run.codeCells, cells.length);
    cells.forEach((c, i) => assert.strictEqual(c.execution_count, i + 1));
    assert.deepStrictEqual(errorOutputs(run.executed), []);
  });

  const page = charts === undefined ? "draws every chart" : charts > 0 ? `draws its ${charts} charts` : "opens (no charts)";
  it(`wrote the executed copy and a web page that ${page} offline in headless Chromium, with no errors`, async () => {
    const { run } = get();
    const found = run.executed.cells.flatMap((c) => chartBundles(c)).length;
    if (charts !== undefined) assert.strictEqual(found, charts, "chart outputs in the notebook");
    const { drawn, problems } = await drawInChromium(run.outHtml, found);
    assert.deepStrictEqual([drawn, problems], [found, []]);
    assert.ok(fs.existsSync(run.outNotebook));
  });
}

/** Inline data arrays of records anywhere in a spec, in document order. */
export function dataArrays(node: unknown, out: Record<string, unknown>[][] = []): Record<string, unknown>[][] {
  if (Array.isArray(node)) node.forEach((n) => dataArrays(n, out));
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if (Array.isArray(o.values) && o.values.length > 0 && o.values.every((v) => v !== null && typeof v === "object" && !Array.isArray(v))) {
      out.push(o.values as Record<string, unknown>[]);
    }
    for (const [k, v] of Object.entries(o)) if (k !== "values") dataArrays(v, out);
  }
  return out;
}

/** The heatmaps' matrices (records `{row, col, value}`) in the spec, in document order (exactly `n`). */
export function heatmapMatrices(spec: unknown, n: number): number[][][] {
  const matrices = dataArrays(spec)
    .filter((values) => values.every((r) => typeof r.row === "number" && typeof r.col === "number" && typeof r.value === "number"))
    .map((values) => {
      const rows = 1 + Math.max(...values.map((r) => r.row as number));
      const cols = 1 + Math.max(...values.map((r) => r.col as number));
      const m = Array.from({ length: rows }, () => new Array<number>(cols).fill(NaN));
      for (const r of values) m[r.row as number][r.col as number] = r.value as number;
      return m;
    });
  assert.strictEqual(matrices.length, n, `heatmaps in the spec: ${matrices.length}`);
  return matrices;
}

/**
 * A number printed with d decimals (`"0.123"`, `"-4.56"`, `"12.3%"`) agrees with `expected` when it is
 * within half a unit of its last digit, plus `tolerance` for the float32 computation that printed it.
 */
export function closeAtPrecision(printed: string, expected: number, tolerance: number, what: string): void {
  const percent = printed.endsWith("%");
  const body = percent ? printed.slice(0, -1) : printed;
  const decimals = body.includes(".") ? body.length - body.indexOf(".") - 1 : 0;
  const value = Number(body) / (percent ? 100 : 1);
  const half = (0.5 * 10 ** -decimals) / (percent ? 100 : 1);
  assert.ok(Number.isFinite(value), `${what}: ${JSON.stringify(printed)} is not a number`);
  assert.ok(Math.abs(value - expected) <= half + tolerance, `${what}: printed ${printed}, reference ${expected} (tolerance ${half} + ${tolerance})`);
}
