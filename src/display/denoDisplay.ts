/**
 * Deno's Jupyter kernel: `Deno.jupyter.display(bundle, { raw: true })` sends a MIME bundle as one
 * display_data message. (Values that are a cell's last expression are displayed by Deno itself
 * through `Symbol.for("Jupyter.display")`, which `Chart` implements.)
 */
import type { MimeBundle } from "./mime";

interface DenoJupyter {
  display(obj: unknown, options?: { raw?: boolean; update?: boolean; display_id?: string }): Promise<void>;
}

function denoJupyter(): DenoJupyter | undefined {
  const deno = (globalThis as { Deno?: { jupyter?: Partial<DenoJupyter> } }).Deno;
  return typeof deno?.jupyter?.display === "function" ? (deno.jupyter as DenoJupyter) : undefined;
}

/** @returns true if a Deno Jupyter kernel took the bundle */
export async function sendThroughDeno(bundle: MimeBundle): Promise<boolean> {
  const jupyter = denoJupyter();
  if (!jupyter) return false;
  await jupyter.display(bundle, { raw: true });
  return true;
}
