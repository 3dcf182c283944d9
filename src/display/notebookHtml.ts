/**
 * An executed notebook (.ipynb JSON, nbformat 4) → one self-contained HTML page: markdown cells as
 * HTML, code cells with their source and outputs, and Vega-Lite outputs drawn live with the
 * inlined vega libraries (their SVG shown until the live chart draws, or if it cannot).
 *
 * Output choice per display_data/execute_result, richest first: Vega-Lite 5 (live, SVG fallback),
 * Vega 5 (live), SVG, PNG/JPEG, HTML, Markdown, plain text — the order JupyterLab would pick.
 */
import { marked } from "marked";
import { chartHtml, escapeHtml, htmlDocument, type ScriptPlacement } from "./html";
import { SVG_MIME, VEGALITE_MIME } from "./mime";

const VEGA_MIME = "application/vnd.vega.v5+json";

type MultilineString = string | string[];

interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: MultilineString;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

interface NotebookCell {
  cell_type: string;
  source: MultilineString;
  execution_count?: number | null;
  outputs?: NotebookOutput[];
}

export interface NotebookJson {
  nbformat: number;
  cells: NotebookCell[];
  metadata?: Record<string, unknown>;
}

export interface NotebookHtmlOptions {
  /** Page title (default: the notebook's first heading, else "Notebook"). */
  title?: string;
  /** Where the vega libraries go (default inline: a single self-contained file). */
  scripts?: ScriptPlacement;
  /** Show "In [n]:" prompts (default true). */
  prompts?: boolean;
}

const NOTEBOOK_CSS = `
.cell { margin: 0.8rem 0; }
.cell.markdown { line-height: 1.5; }
.cell.markdown img { max-width: 100%; }
.prompt { color: #6e7781; font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; margin-bottom: 2px; }
pre.source { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.6rem 0.8rem; overflow-x: auto; margin: 0; }
pre.source code, pre.stream, pre.text-output, pre.error-output { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
.outputs { padding-left: 0.8rem; border-left: 3px solid #eaeef2; margin-top: 0.3rem; }
pre.stream, pre.text-output { margin: 0.3rem 0; white-space: pre-wrap; }
pre.stream.stderr { background: #fff8e6; }
pre.error-output { background: #fff0f0; color: #8b0000; padding: 0.5rem; white-space: pre-wrap; }
img.static-output { max-width: 100%; }
`;

function joinSource(s: MultilineString | undefined): string {
  if (s === undefined) return "";
  return Array.isArray(s) ? s.join("") : s;
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function parseNotebook(input: string | NotebookJson): NotebookJson {
  const nb = typeof input === "string" ? (JSON.parse(input) as NotebookJson) : input;
  if (!nb || typeof nb !== "object" || !Array.isArray(nb.cells)) {
    throw new Error("notebookToHtml: the input is not a notebook (expected .ipynb JSON with a `cells` array).");
  }
  if (nb.nbformat !== 4) {
    throw new Error(`notebookToHtml: nbformat ${nb.nbformat} is not supported; convert the notebook to nbformat 4.`);
  }
  return nb;
}

function markdownHtml(md: string): string {
  return marked.parse(md, { async: false, gfm: true }) as string;
}

function dataUrl(mime: string, base64: string): string {
  return `data:${mime};base64,${base64.replace(/\s+/g, "")}`;
}

/** Renders one rich output; `usesVega` reports whether it drew a live chart. */
function richOutputHtml(data: Record<string, unknown>, usesVega: () => void): string {
  const svg = data[SVG_MIME] !== undefined ? joinSource(data[SVG_MIME] as MultilineString) : undefined;
  if (data[VEGALITE_MIME] !== undefined) {
    usesVega();
    const raw = data[VEGALITE_MIME];
    const spec = typeof raw === "string" ? JSON.parse(raw) : raw;
    return chartHtml(spec, { fallbackSvg: svg });
  }
  if (data[VEGA_MIME] !== undefined) {
    usesVega();
    const raw = data[VEGA_MIME];
    return chartHtml(typeof raw === "string" ? JSON.parse(raw) : raw, { fallbackSvg: svg, mode: "vega" });
  }
  if (svg !== undefined) {
    return `<img class="static-output" alt="figure" src="${dataUrl(SVG_MIME, Buffer.from(svg, "utf8").toString("base64"))}">`;
  }
  for (const mime of ["image/png", "image/jpeg", "image/gif"]) {
    if (data[mime] !== undefined) {
      return `<img class="static-output" alt="figure" src="${dataUrl(mime, joinSource(data[mime] as MultilineString))}">`;
    }
  }
  if (data["text/html"] !== undefined) return `<div class="html-output">${joinSource(data["text/html"] as MultilineString)}</div>`;
  if (data["text/markdown"] !== undefined) {
    return `<div class="markdown-output">${markdownHtml(joinSource(data["text/markdown"] as MultilineString))}</div>`;
  }
  if (data["application/json"] !== undefined) {
    return `<pre class="text-output">${escapeHtml(JSON.stringify(data["application/json"], null, 2))}</pre>`;
  }
  if (data["text/plain"] !== undefined) {
    return `<pre class="text-output">${escapeHtml(joinSource(data["text/plain"] as MultilineString).replace(ANSI, ""))}</pre>`;
  }
  return "";
}

function outputsHtml(outputs: NotebookOutput[], usesVega: () => void): string {
  const parts: string[] = [];
  // Consecutive stream chunks of the same name read as one block, as Jupyter shows them.
  let streamName: string | undefined;
  let streamText = "";
  const flush = () => {
    if (streamName !== undefined && streamText) {
      parts.push(`<pre class="stream ${escapeHtml(streamName)}">${escapeHtml(streamText.replace(ANSI, ""))}</pre>`);
    }
    streamName = undefined;
    streamText = "";
  };
  for (const out of outputs) {
    if (out.output_type === "stream") {
      if (streamName !== out.name) flush();
      streamName = out.name ?? "stdout";
      streamText += joinSource(out.text);
      continue;
    }
    flush();
    if (out.output_type === "display_data" || out.output_type === "execute_result") {
      parts.push(richOutputHtml(out.data ?? {}, usesVega));
    } else if (out.output_type === "error") {
      const trace = (out.traceback ?? []).join("\n").replace(ANSI, "");
      parts.push(`<pre class="error-output">${escapeHtml(trace || `${out.ename}: ${out.evalue}`)}</pre>`);
    }
  }
  flush();
  return parts.join("\n");
}

function firstHeading(nb: NotebookJson): string | undefined {
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown") continue;
    const m = /^#{1,6}\s+(.+)$/m.exec(joinSource(cell.source));
    if (m) return m[1].trim();
  }
  return undefined;
}

/** Converts an executed notebook (JSON text or parsed object) to a self-contained HTML page. */
export function notebookToHtml(ipynb: string | NotebookJson, options: NotebookHtmlOptions = {}): string {
  const nb = parseNotebook(ipynb);
  let needsVega = false;
  const usesVega = () => {
    needsVega = true;
  };
  const prompts = options.prompts ?? true;
  const cells = nb.cells.map((cell) => {
    const source = joinSource(cell.source);
    if (cell.cell_type === "markdown") {
      return `<div class="cell markdown">${markdownHtml(source)}</div>`;
    }
    if (cell.cell_type === "code") {
      const count = cell.execution_count ?? " ";
      const prompt = prompts ? `<div class="prompt">In [${count}]:</div>` : "";
      const outs = outputsHtml(cell.outputs ?? [], usesVega);
      return [
        `<div class="cell code">`,
        prompt,
        `<pre class="source"><code>${escapeHtml(source)}</code></pre>`,
        outs ? `<div class="outputs">${outs}</div>` : "",
        `</div>`,
      ].join("\n");
    }
    return `<div class="cell raw"><pre class="text-output">${escapeHtml(source)}</pre></div>`;
  });
  return htmlDocument(cells.join("\n"), {
    title: options.title ?? firstHeading(nb) ?? "Notebook",
    scripts: options.scripts,
    css: NOTEBOOK_CSS,
    needsVega,
  });
}
