/**
 * Inputs and charts shared by the display tests: a prompt with a repeated token, a deterministic
 * causal attention tensor, and the chapter's four charts built through the pyplot surface exactly
 * as the notebook's cells call it.
 */
import { createPyplot } from "../../src/display/pyplot";
import { attentionPatternsSpec } from "../../src/display/specs/attentionPatterns";
import type { VegaLiteSpec } from "../../src/display/types";
import type { Chart } from "../../src/display/chart";

/** " capital" appears twice: charts must keep both positions apart. */
export const TOKENS = ["<|endoftext|>", "The", " capital", " of", " France", " is", " the", " capital"];

/**
 * `[head, query, key]` rows of a causal softmax: head h prefers the key h % 4 positions back.
 * Independent of the code under test; every row sums to 1 and the upper triangle is 0.
 */
export function causalAttention(nHeads: number, n: number): number[][][] {
  return Array.from({ length: nHeads }, (_, h) =>
    Array.from({ length: n }, (_, q) => {
      const raw = Array.from({ length: n }, (_, k) => (k <= q ? Math.exp(-Math.abs(q - k - (h % 4))) : 0));
      const sum = raw.reduce((a, b) => a + b, 0);
      return raw.map((v) => v / sum);
    })
  );
}

export const NORMS = [2.1, 3.5, 4.0, 5.2, 6.8, 8.1, 9.9, 12.5, 15.0, 19.2, 24.8, 31.0, 55.3];
export const ATTN_NORMS = [5.1, 6.2, 4.3, 8.4, 9.5, 10.6, 11.7, 12.8, 13.9, 14.1, 15.2, 16.3];
export const MLP_NORMS = [10.2, 6.4, 7.1, 8.3, 9.2, 10.4, 11.5, 12.1, 13.7, 14.9, 15.5, 60.6];

/** The chapter's charts, each through the same calls as the notebook cell that draws it. */
export function chapterCharts(): Record<string, VegaLiteSpec> {
  const shown: Chart[] = [];
  const plt = createPyplot({ display: (c) => void shown.push(c) });
  const tokens = TOKENS;
  const attn = causalAttention(12, tokens.length);

  plt.figure({ figsize: [8, 6] });
  plt.imshow(attn[0], { cmap: "Blues" });
  plt.xticks(tokens.map((_, i) => i), tokens, { rotation: 45, ha: "right" });
  plt.yticks(tokens.map((_, i) => i), tokens);
  plt.xlabel("Key (attending to)");
  plt.ylabel("Query (attending from)");
  plt.title("Attention Pattern: Layer 5, Head 0");
  plt.colorbar({ label: "Attention weight" });
  plt.tightLayout();
  plt.show();

  plt.figure({ figsize: [10, 4] });
  plt.plot(NORMS, "o-");
  plt.xlabel("Layer");
  plt.ylabel("Residual Stream Norm");
  plt.title("How the Residual Stream Grows Through the Network");
  plt.grid(true, { alpha: 0.3 });
  plt.show();

  const x = ATTN_NORMS.map((_, i) => i);
  const width = 0.35;
  plt.figure({ figsize: [12, 4] });
  plt.bar(x.map((v) => v - width / 2), ATTN_NORMS, width, { label: "Attention", alpha: 0.8 });
  plt.bar(x.map((v) => v + width / 2), MLP_NORMS, width, { label: "MLP", alpha: 0.8 });
  plt.xlabel("Layer");
  plt.ylabel("Output Norm");
  plt.title("Attention vs MLP Contribution by Layer");
  plt.legend();
  plt.xticks(x);
  plt.grid(true, { alpha: 0.3, axis: "y" });
  plt.show();

  if (shown.length !== 3) throw new Error(`expected 3 figures shown, got ${shown.length}`);
  return {
    heatmap: shown[0].spec,
    line: shown[1].spec,
    bars: shown[2].spec,
    attention: attentionPatternsSpec({ tokens, attention: attn, title: "Layer 5" }),
  };
}

/** The data values of a single-view spec, or of layer `i` of a layered one. */
export function dataOf(spec: VegaLiteSpec, layer?: number): Array<Record<string, unknown>> {
  const holder = layer === undefined ? spec : (spec.layer as VegaLiteSpec[])[layer];
  return ((holder.data as { values: Array<Record<string, unknown>> }).values);
}
