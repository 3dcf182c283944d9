/**
 * The look shared by every chart: matplotlib's defaults translated into Vega-Lite config, and the
 * colour tables (matplotlib colormap and colour names → Vega schemes and CSS colours).
 */

/** matplotlib's default colour cycle ("tab10"); Vega's "category10" scheme is the same ten colours. */
export const MPL_COLOR_CYCLE: readonly string[] = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

/**
 * Pixels per inch when a matplotlib-style `figsize` (inches) becomes a Vega-Lite size. 72 makes one
 * point one pixel, so Vega's default 10–13 px fonts keep matplotlib's proportions (10 pt labels).
 */
export const DEFAULT_DPI = 72;

/**
 * matplotlib colormap name → colours. matplotlib's sequential and diverging maps are ColorBrewer's
 * (Blues runs from near-white #f7fbff to #08306b), while Vega's same-named schemes start darker, so
 * those are given as ColorBrewer's 9/11 stops and interpolated; the perceptual maps are identical
 * in Vega and use its schemes. A `_r` suffix reverses any of them.
 */
export const COLORMAPS: Readonly<Record<string, { range: readonly string[] } | { scheme: string }>> = {
  Blues: { range: ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"] },
  Greens: { range: ["#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b"] },
  Greys: { range: ["#ffffff", "#f0f0f0", "#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252", "#252525", "#000000"] },
  Oranges: { range: ["#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603", "#7f2704"] },
  Purples: { range: ["#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d"] },
  Reds: { range: ["#fff5f0", "#fee0d2", "#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d", "#a50f15", "#67000d"] },
  RdBu: {
    range: ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"],
  },
  viridis: { scheme: "viridis" },
  magma: { scheme: "magma" },
  inferno: { scheme: "inferno" },
  plasma: { scheme: "plasma" },
  cividis: { scheme: "cividis" },
};

/** Vega-Lite colour-scale properties for a matplotlib colormap name ("Blues", "RdBu_r"). */
export function colormapScale(name: string, where: string): Record<string, unknown> {
  const reverse = name.endsWith("_r");
  const base = reverse ? name.slice(0, -2) : name;
  const entry = COLORMAPS[base];
  if (!entry) {
    throw new Error(
      `${where}: unknown colormap "${name}". Supported: ${Object.keys(COLORMAPS).join(", ")} (add "_r" to reverse).`
    );
  }
  const colors = "range" in entry ? { range: [...entry.range], interpolate: "rgb" } : { scheme: entry.scheme };
  return { ...colors, ...(reverse ? { reverse: true } : {}) };
}

/**
 * matplotlib single-letter colour codes (as in the format string "ro"): matplotlib's BASE_COLORS,
 * pure red/blue and friends, not the tab10 cycle ("r" is #ff0000, "tab:red" is #d62728).
 */
export const MPL_COLOR_LETTERS: Readonly<Record<string, string>> = {
  b: "#0000ff",
  g: "#008000",
  r: "#ff0000",
  c: "#00bfbf",
  m: "#bf00bf",
  y: "#bfbf00",
  k: "#000000",
  w: "#ffffff",
};

/** Colours "C0".."C9" as matplotlib names its cycle, or a single letter, or any CSS colour. */
export function resolveColor(color: string): string {
  const cycle = /^C(\d)$/.exec(color);
  if (cycle) return MPL_COLOR_CYCLE[Number(cycle[1])];
  return MPL_COLOR_LETTERS[color] ?? color;
}

/** Vega-Lite config that gives charts matplotlib's plain look: a black frame, no grid unless asked. */
export function matplotlibConfig(): Record<string, unknown> {
  return {
    font: "DejaVu Sans, Helvetica, Arial, sans-serif",
    view: { stroke: "#000000", strokeWidth: 0.8 },
    axis: {
      domain: false, // the view's frame draws the spines
      grid: false,
      tickColor: "#000000",
      labelColor: "#000000",
      labelFontSize: 10,
      titleColor: "#000000",
      titleFontSize: 11,
      titleFontWeight: "normal",
    },
    legend: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: "normal" },
    title: { fontSize: 13, fontWeight: "normal", color: "#000000" },
    range: { category: [...MPL_COLOR_CYCLE] },
  };
}
