/**
 * Multi-line text: matplotlib breaks a title or axis label at "\n"; Vega-Lite draws an array of
 * strings as one line each (titles, axis titles, legend titles all accept `string | string[]`).
 */

/** "a\nb" → ["a", "b"]; a one-line string stays a string; undefined stays undefined. */
export function textLines(text: string | undefined): string | string[] | undefined {
  if (text === undefined) return undefined;
  const lines = String(text).split(/\r?\n/);
  return lines.length > 1 ? lines : lines[0];
}

/** How many lines `text` takes (0 when absent), for margin estimates. */
export function lineCount(text: string | undefined): number {
  return text === undefined || text === "" ? 0 : String(text).split(/\r?\n/).length;
}

/** One line for places that take a single string (tooltip titles, text/plain): lines joined by a space. */
export function oneLine(text: string | undefined): string | undefined {
  return text === undefined ? undefined : String(text).replace(/\r?\n/g, " ");
}
