/**
 * `attentionPatterns({ tokens, attention })`: the notebook call that mirrors circuitsvis's
 * `cv.attention.attention_patterns(tokens=..., attention=...)` and shows the viewer.
 *
 * It displays itself (synchronously) and returns `undefined`, because tslab prints a cell's last
 * value as text and never renders it: a returned chart object would print as text under the chart.
 * So a cell reads `attentionPatterns({ tokens, attention })`, exactly like the Python. For the spec
 * use `attentionPatternsSpec`, for a value to save or pass around `chart(attentionPatternsSpec(...))`.
 */
import { Chart } from "./chart";
import { display, type DisplayOptions } from "./display";
import { attentionPatternsSpec, type AttentionPatternsOptions } from "./specs/attentionPatterns";

export function attentionPatterns(options: AttentionPatternsOptions, displayOptions: DisplayOptions = {}): void {
  display(new Chart(attentionPatternsSpec(options)), displayOptions);
}

/**
 * circuitsvis's module path, so `cv.attention.attention_patterns(tokens=..., attention=...)` becomes
 * `cv.attention.attentionPatterns({ tokens, attention })`. Same function as `attentionPatterns`.
 */
export const cv = { attention: { attentionPatterns } } as const;
