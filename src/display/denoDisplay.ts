/**
 * Deno's Jupyter kernel: `Deno.jupyter.display(bundle, { raw: true })` sends a MIME bundle as one
 * display_data message. (A cell's last value is displayed by Deno itself through
 * `Symbol.for("Jupyter.display")`, which `Chart` implements.)
 */
import type { MimeBundle } from "./mime";

interface DenoJupyter {
  display(obj: unknown, options?: { raw?: boolean }): Promise<void>;
}

function denoJupyter(): DenoJupyter | undefined {
  const deno = (globalThis as { Deno?: { jupyter?: Partial<DenoJupyter> } }).Deno;
  return typeof deno?.jupyter?.display === "function" ? (deno.jupyter as DenoJupyter) : undefined;
}

/**
 * @returns true if a Deno Jupyter kernel took the bundle. Deno sends asynchronously; a failure is
 * reported on stderr rather than thrown, since the caller has already moved on.
 */
export function sendThroughDeno(bundle: MimeBundle): boolean {
  const jupyter = denoJupyter();
  if (!jupyter) return false;
  jupyter.display(bundle, { raw: true }).catch((err: unknown) => {
    console.error(`display: Deno.jupyter.display failed: ${(err as Error)?.message ?? String(err)}`);
  });
  return true;
}
