/**
 * Reading an executed notebook in tests: a cell by what its source contains, what it printed, its
 * chart bundles and the heatmap matrices inside a Vega-Lite spec, and a printed number compared with
 * a reference value at the precision it was printed with.
 */
import * as assert from "assert";
import * as fs from "fs";
import { NotebookCell, NotebookJson, NotebookRun, joinSource, streamText } from "../../scripts/run-notebook";

const VEGALITE_MIME = "application/vnd.vegalite.v5+json";
const SVG_MIME = "image/svg+xml";

export function codeCells(nb: NotebookJson): NotebookCell[] {
  return nb.cells.filter((c) => c.cell_type === "code");
}

/** The code cell whose source contains `marker` (exactly one must). */
export function cellWith(nb: NotebookJson, marker: string): NotebookCell {
  const found = codeCells(nb).filter((c) => joinSource(c.source).includes(marker));
  assert.strictEqual(found.length, 1, `${found.length} code cells contain ${JSON.stringify(marker)}`);
  return found[0];
}

/** What one cell printed to stdout. */
export function stdoutOf(cell: NotebookCell): string {
  return streamText(cell);
}

/** Everything the notebook printed to stdout, cell after cell. */
export function allStdout(nb: NotebookJson): string {
  return nb.cells.map((c) => streamText(c)).join("");
}

/** The committed file: no outputs, no execution counts, the given kernel. */
export function checkSavedWithoutOutputs(file: string, kernelName: string): void {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as NotebookJson;
  const spec = (nb.metadata as { kernelspec: { name: string; language: string } }).kernelspec;
  assert.deepStrictEqual([spec.name, spec.language], [kernelName, "typescript"]);
  for (const cell of codeCells(nb)) {
    assert.deepStrictEqual(cell.outputs, [], `outputs saved in: ${joinSource(cell.source).slice(0, 60)}`);
    assert.strictEqual(cell.execution_count, null);
  }
}

/** Every code cell of the source ran, in order, with no error output. */
export function checkEveryCellRan(run: NotebookRun): void {
  const source = JSON.parse(fs.readFileSync(run.notebook, "utf8")) as NotebookJson;
  const cells = codeCells(run.executed);
  assert.strictEqual(cells.length, codeCells(source).length);
  assert.strictEqual(run.codeCells, cells.length);
  cells.forEach((cell, i) => {
    assert.strictEqual(cell.execution_count, i + 1, `cell ${i + 1} execution_count`);
    const errors = (cell.outputs ?? []).filter((o) => o.output_type === "error");
    assert.deepStrictEqual(errors, [], `error in: ${joinSource(cell.source).slice(0, 60)}`);
  });
}

export interface ChartBundle {
  spec: { $schema?: string } & Record<string, unknown>;
  svg: string;
}

/** The cell's chart outputs (exactly `n`), each with a Vega-Lite 5 spec, an SVG and a text fallback. */
export function chartBundles(cell: NotebookCell, n: number): ChartBundle[] {
  const bundles = (cell.outputs ?? []).filter((o) => o.data && VEGALITE_MIME in o.data);
  assert.strictEqual(bundles.length, n, `chart outputs of ${joinSource(cell.source).slice(0, 60)}: ${JSON.stringify((cell.outputs ?? []).map((o) => Object.keys(o.data ?? {})))}`);
  return bundles.map((b) => {
    const data = b.data as Record<string, unknown>;
    const spec = data[VEGALITE_MIME] as ChartBundle["spec"];
    assert.match(String(spec.$schema), /vega-lite\/v5/);
    const svg = joinSource(data[SVG_MIME] as string | string[]);
    assert.match(svg, /^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/);
    assert.ok("text/plain" in data, "text/plain fallback");
    return { spec, svg };
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
