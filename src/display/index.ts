/**
 * Charts for notebooks: Vega-Lite builders (plain JSON), Node-side SVG rendering, MIME bundles
 * shown through tslab as one display message, a pyplot-like surface, the attention-pattern viewer,
 * and HTML export (single charts and whole executed notebooks). See README.md in this folder.
 */
export { VEGALITE_MIME, SVG_MIME, PNG_MIME, TEXT_MIME, HTML_MIME, VEGALITE_SCHEMA, MIME_PRIORITY, STATIC_PARAM, libraryVersions } from "./mime";
export type { MimeBundle } from "./mime";
export type { VegaLiteSpec, TensorLike, Values1D, Values2D, Values3D } from "./types";
export { heatmapSpec, type HeatmapOptions } from "./specs/heatmap";
export { lineSpec, type LineOptions, type LineSeries, MARKERS, LINE_STYLES } from "./specs/line";
export { barSpec, groupedBarSpec, type BarOptions as BarSpecOptions, type BarSeries, type GroupedBarOptions } from "./specs/bar";
export type { AxesOptions, Ticks, GridOptions, LegendOptions } from "./specs/axes";
export { attentionPatternsSpec, tokenLabel, headColors, RASTER_VIEWER_CELLS, STATIC_CAPTION, INTERACTIVE_HINT, type AttentionPatternsOptions } from "./specs/attentionPatterns";
export { COLORMAPS, MPL_COLOR_CYCLE, DEFAULT_DPI } from "./theme";
export { compileVegaLite, renderSvg, renderSvgSync, type CompiledSpec } from "./render";
export { toBundle, describeSpec, isMimeBundle, staticVariant, bundleMetadata, type BundleOptions } from "./bundle";
export { svgToPng, PNG_SCALE, type RasterResult } from "./raster";
export { encodePng, encodeIndexedPng, pngSize, PNG_SIGNATURE } from "./png";
export { RASTER_CELLS } from "./specs/rasterCells";
export { Chart, chart, JUPYTER_DISPLAY } from "./chart";
export { display, bundleOf, type Displayable, type DisplayOptions, type DisplayRoute } from "./display";
export { sendThroughTslab, tslabWriter, type DisplayDataContent, type TslabRoute } from "./tslabDisplay";
export { attentionPatterns, cv } from "./attentionPatterns";
export { plt, createPyplot, Pyplot, Figure, Axes, AxesImage, parseFormat, type FigureOptions, type ImshowOptions, type PlotOptions, type TickOptions, type ColorbarOptions, type SubplotsAxes } from "./pyplot";
export { px, createPlotlyExpress, PlotlyExpress, PxFigure, PLOTLY_COLORS, type PxBarOptions } from "./plotlyExpress";
export { toHtmlPage, saveHtml, chartHtml, htmlDocument, vegaScriptTags, type HtmlPageOptions, type SaveHtmlOptions, type ChartLike } from "./html";
export { notebookToHtml, type NotebookHtmlOptions } from "./notebookHtml";
