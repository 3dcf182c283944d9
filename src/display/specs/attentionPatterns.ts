/**
 * The attention-pattern viewer (TypeScript counterpart of circuitsvis's
 * `attention_patterns(tokens, attention)`): every head of a layer as a thumbnail, and one head
 * large with token labels on both axes.
 *
 * Interaction (Vega-Lite params, so it runs wherever Vega-Lite 5 renders, and needs no network):
 *  - hover a thumbnail to view that head, click to lock it (circuitsvis's behaviour);
 *  - a "Head" slider under the chart, bound to the locked head;
 *  - tooltips with query token, key token, positions and weight.
 * The static SVG (classic Notebook, GitHub, nbconvert) shows all thumbnails and the initial head.
 *
 * Positions, not token strings, are the x/y fields, so repeated tokens (" the" twice) stay separate
 * cells; axis labels map position → token through `labelExpr`. Each head has its own hue and the
 * weight sets the opacity, as circuitsvis colours heads; the upper triangle (keys after the query,
 * zero in a causal model) is left blank.
 */
import { read3D } from "../data";
import { STATIC_PARAM, VEGALITE_SCHEMA } from "../mime";
import { attentionRasterSpec } from "./attentionRaster";
import { headPickerLayer } from "./headPicker";
import { matplotlibConfig } from "../theme";
import type { Values3D, VegaLiteSpec } from "../types";
import { textLines } from "./text";

export interface AttentionPatternsOptions {
  /** The token strings of the prompt, one per position (e.g. `model.toStrTokens(text)`). */
  tokens: readonly string[];
  /** `[head, query_pos, key_pos]` attention probabilities (one layer, batch removed); read, never disposed. */
  attention: Values3D;
  /** Names for the heads (default "Head 0", "Head 1", ...). */
  headLabels?: readonly string[];
  /** The head shown large before any interaction (default 0). */
  initialHead?: number;
  /** Leave cells with key > query blank (default true: GPT-2's attention is causal). */
  maskUpperTriangle?: boolean;
  /** A title above the viewer, e.g. "Layer 5" (default "Attention patterns"). */
  title?: string;
  /** Thumbnail side in pixels (default 56). */
  thumbnailSize?: number;
  /** Thumbnails per row (default: all heads, at most 12). */
  columns?: number;
  /** Side of one cell of the large view in pixels (default: 320 px / tokens, within 8–40). */
  cellSize?: number;
}

/** The subtitle where the viewer can be used: how. */
export const INTERACTIVE_HINT = "Heads: hover to view, click to lock";
/** The subtitle of the static SVG/PNG: where the interactive view is. */
export const STATIC_CAPTION = "Static picture: hover and click heads in JupyterLab, VS Code or the HTML page";
/**
 * Heads × tokens² above which heads are drawn as pictures: 12 heads × 16 tokens still draws one
 * rect per cell (~0.4 MB of SVG, exact hover everywhere); 12 × 40 as rects would be 2.4 MB.
 */
export const RASTER_VIEWER_CELLS = 12 * 16 * 16;

/** What a token looks like on an axis: whitespace made visible, long tokens shortened. */
export function tokenLabel(token: string): string {
  const shown = token.replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/\r/g, "");
  return shown.length > 24 ? `${shown.slice(0, 23)}…` : shown;
}

/** One hue per head around the colour wheel (circuitsvis colours heads the same way). */
export function headColors(nHeads: number): string[] {
  return Array.from({ length: nHeads }, (_, h) => `hsl(${Math.round((360 * h) / nHeads)}, 75%, 38%)`);
}

export function attentionPatternsSpec(options: AttentionPatternsOptions): VegaLiteSpec {
  const where = "attentionPatternsSpec";
  const tokens = options.tokens;
  if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== "string")) {
    throw new Error(`${where}: tokens must be an array of strings (one per position).`);
  }
  const attention = read3D(options.attention, `${where} attention`, "[head, query_pos, key_pos] (remove the batch dimension first, e.g. pattern.squeeze([0]))");
  const nHeads = attention.length;
  const nQuery = attention[0].length;
  const nKey = attention[0][0].length;
  if (nQuery !== tokens.length || nKey !== tokens.length) {
    throw new Error(
      `${where}: attention is [${nHeads}, ${nQuery}, ${nKey}] but there are ${tokens.length} tokens; ` +
        `query and key lengths must both equal the number of tokens.`
    );
  }
  const headLabels = options.headLabels ? [...options.headLabels] : attention.map((_, h) => `Head ${h}`);
  if (headLabels.length !== nHeads) {
    throw new Error(`${where}: ${headLabels.length} head labels for ${nHeads} heads.`);
  }
  const initialHead = options.initialHead ?? 0;
  if (!Number.isInteger(initialHead) || initialHead < 0 || initialHead >= nHeads) {
    throw new Error(`${where}: initialHead ${initialHead} is not a head index (0..${nHeads - 1}).`);
  }
  const mask = options.maskUpperTriangle ?? true;
  const labels = tokens.map(tokenLabel);
  const n = tokens.length;

  const thumb = options.thumbnailSize ?? 56;
  const columns = options.columns ?? Math.min(nHeads, 12);
  const colors = headColors(nHeads);
  const lockParams = [
    {
      name: "lock",
      value: [{ head: initialHead }],
      select: { type: "point", fields: ["head"], on: "click", clear: false, toggle: false },
      bind: { input: "range", min: 0, max: nHeads - 1, step: 1, name: "Head " },
    },
    {
      name: "hover",
      select: { type: "point", fields: ["head"], on: "pointerover", clear: "pointerout", toggle: false },
    },
  ];
  // The head shown large: the hovered one, else the locked one (click or slider).
  const shownHeadExpr =
    `hover && hover.head && length(hover.head) ? hover.head[0] : ` +
    `(lock && lock.head && length(lock.head) ? lock.head[0] : ${initialHead})`;
  const headerParams = [
    { name: "tokenLabels", value: labels },
    { name: "headLabels", value: headLabels },
    { name: "shownHead", expr: shownHeadExpr },
    // true in the static SVG/PNG (bundle.ts): no hover/click hints there, a caption instead
    { name: STATIC_PARAM, value: false },
  ];
  const title = {
    text: textLines(options.title) ?? "Attention patterns",
    subtitle: { expr: `${STATIC_PARAM} ? ${JSON.stringify(STATIC_CAPTION)} : ${JSON.stringify(INTERACTIVE_HINT)}` },
    anchor: "start",
    subtitleColor: "#555555",
    subtitleFontSize: 11,
  };
  const config = { ...matplotlibConfig(), view: { stroke: "#bbbbbb", strokeWidth: 0.8 } };
  const description = `Attention patterns: ${nHeads} heads × ${n} tokens`;
  // Past RASTER_VIEWER_CELLS cells one rect each is megabytes of SVG: draw each head as a picture.
  if (nHeads * n * n > RASTER_VIEWER_CELLS) {
    const bigSize = options.cellSize ? options.cellSize * n : Math.min(560, Math.max(320, n * 4));
    return {
      $schema: VEGALITE_SCHEMA,
      ...attentionRasterSpec({ attention, labels, headLabels, colors, mask, thumb, columns, bigSize, headerParams, title, config, lockParams, description }),
    };
  }

  const values: Record<string, unknown>[] = [];
  attention.forEach((plane, head) =>
    plane.forEach((row, query) =>
      row.forEach((weight, key) => {
        if (mask && key > query) return;
        values.push({ head, query, key, weight, queryToken: labels[query], keyToken: labels[key] });
      })
    )
  );

  const cell = options.cellSize ?? Math.max(8, Math.min(40, Math.floor(320 / n)));
  const bigSize = cell * n;
  const headColor = {
    field: "head",
    type: "ordinal",
    scale: { domain: attention.map((_, h) => h), range: colors },
    legend: null,
  };
  const weightOpacity = {
    field: "weight",
    type: "quantitative",
    scale: { domain: [0, 1], range: [0, 1], clamp: true },
    legend: null,
  };
  const noAxis = { axis: null, scale: { paddingInner: 0, paddingOuter: 0 } };

  const thumbnails = {
    facet: {
      field: "head",
      type: "ordinal",
      header: { labelExpr: "headLabels[datum.value]", title: null, labelFontSize: 10, labelPadding: 2 },
    },
    columns,
    spacing: { row: 6, column: 8 },
    // Lay thumbnails out by their declared size: "full" bounds include the frame's stroke, and the
    // browser then measures the grid differently from the pass that sized the SVG, clipping the
    // last column.
    bounds: "flush",
    spec: {
      width: thumb,
      height: thumb,
      layer: [
        {
          mark: { type: "rect" },
          encoding: {
            x: { field: "key", type: "ordinal", ...noAxis },
            y: { field: "query", type: "ordinal", ...noAxis },
            color: headColor,
            opacity: weightOpacity,
          },
        },
        // One rect per thumbnail (the cell at query 0, key 0 stands for the head).
        { transform: [{ filter: "datum.query == 0 && datum.key == 0" }], ...headPickerLayer(lockParams) },
      ],
    },
  };

  const bigView = {
    width: bigSize,
    height: bigSize,
    title: { text: { expr: "headLabels[shownHead]" }, anchor: "start", fontSize: 13 },
    transform: [{ filter: "datum.head == shownHead" }],
    mark: { type: "rect" },
    encoding: {
      x: {
        field: "key",
        type: "ordinal",
        scale: { domain: labels.map((_, i) => i), paddingInner: 0, paddingOuter: 0 },
        axis: { title: "Key (attending to)", labelExpr: "tokenLabels[datum.value]", labelAngle: -45, labelAlign: "right", labelBaseline: "top" },
      },
      y: {
        field: "query",
        type: "ordinal",
        scale: { domain: labels.map((_, i) => i), paddingInner: 0, paddingOuter: 0 },
        axis: { title: "Query (attending from)", labelExpr: "tokenLabels[datum.value]" },
      },
      color: headColor,
      opacity: weightOpacity,
      tooltip: [
        { field: "queryToken", type: "nominal", title: "query token" },
        { field: "query", type: "ordinal", title: "query pos" },
        { field: "keyToken", type: "nominal", title: "key token" },
        { field: "key", type: "ordinal", title: "key pos" },
        { field: "weight", type: "quantitative", title: "attention", format: ".3f" },
      ],
    },
  };

  return {
    $schema: VEGALITE_SCHEMA,
    description,
    title,
    config,
    params: headerParams,
    data: { values: values.map((v) => ({ ...v, headLabel: headLabels[v.head as number] })) },
    vconcat: [thumbnails, bigView],
    spacing: 16,
  };
}
