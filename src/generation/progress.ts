/**
 * A one-line progress bar on stderr for long generations (TransformerLens shows tqdm). Quiet for
 * the first second, so short runs print nothing; redrawn at most ten times a second.
 */
export interface Progress {
  /** `done` steps of `total` finished. */
  update(done: number): void;
  /** Ends the line if anything was drawn. */
  close(): void;
}

export function stderrProgress(total: number, { enabled, label = "generate" }: { enabled: boolean; label?: string }): Progress {
  const start = Date.now();
  let lastDraw = 0;
  let drawn = false;
  const draw = (done: number) => {
    const now = Date.now();
    if (now - start < 1000 || (now - lastDraw < 100 && done < total)) return;
    lastDraw = now;
    drawn = true;
    const width = 20;
    const filled = Math.round((width * done) / total);
    const rate = done / ((now - start) / 1000);
    process.stderr.write(`\r${label}: ${done}/${total} [${"█".repeat(filled)}${" ".repeat(width - filled)}] ${rate.toFixed(1)} tokens/s`);
  };
  return {
    update: (done) => enabled && draw(done),
    close: () => {
      if (drawn) process.stderr.write("\n");
    },
  };
}
