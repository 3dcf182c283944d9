/**
 * Progress of a hub download as a tagged union of events (as transformers.js reports them), and a
 * ready-made renderer that draws them on stderr.
 */

/** What happened to one file of one repo. Events for a file come in the order initiate, download, progress…, done. */
export type DownloadProgressEvent =
  /** The file was asked for (emitted before the cache is looked at). */
  | { status: "initiate"; repoId: string; file: string }
  /** Bytes start to flow. `loaded` is what an earlier, cut download had already stored (0 when fresh). */
  | { status: "download"; repoId: string; file: string; loaded: number; total?: number }
  /**
   * More bytes arrived: `loaded` of `total` bytes are on disk (`total` is unknown when the server did
   * not say). Also sent every 2 s while no bytes arrive, with `stalledMs` since the last one.
   */
  | { status: "progress"; repoId: string; file: string; loaded: number; total?: number; stalledMs?: number }
  /** Another process is downloading this file into the same cache; this one waits for it (sent every few seconds). */
  | { status: "waiting"; repoId: string; file: string; waitedMs: number; owner?: string }
  /** The file is ready at its final path. `cached`: it was already there and nothing was downloaded. */
  | { status: "done"; repoId: string; file: string; cached: boolean; loaded?: number; total?: number };

export type DownloadProgressCallback = (event: DownloadProgressEvent) => void;

/** Where the bar is drawn: process.stderr, or anything with the same two members (tests pass a fake). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressBarOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Fewest milliseconds between two redraws on a terminal (default 100). */
  redrawIntervalMs?: number;
  /** Clock in milliseconds (default Date.now); tests pass a fake one. */
  now?: () => number;
}

const MB = 1e6; // decimal megabytes, as tqdm's unit_scale and the hub's file listing show sizes
const BAR_WIDTH = 24;
/** Without a terminal (CI logs, Jupyter's stderr) a line is written at each of these fractions only. */
const LOG_EVERY_FRACTION = 0.1;
/** …or, when the size is unknown, each time this many more bytes arrived. */
const LOG_EVERY_BYTES = 100 * MB;
/** …and at least this often, so a slow or stalled download shows it is alive. */
const LOG_AT_LEAST_EVERY_MS = 10_000;

interface FileState {
  startedAt: number;
  startLoaded: number;
  lastDrawAt: number;
  lastLoggedStep: number;
  lastLoggedAt: number;
  downloading: boolean;
}

/**
 * A progress callback that draws downloads on stderr: on a terminal one line redrawn in place with \r
 * (`model.safetensors  42% [#####-----]  230.1/548.1 MB  11.7 MB/s`); otherwise (a log, a notebook) a
 * line at each tenth of the file. Files that come straight from the cache print nothing.
 */
export function stderrProgressBar(options: ProgressBarOptions = {}): DownloadProgressCallback {
  const stream: ProgressStream = options.stream ?? process.stderr;
  const redrawIntervalMs = options.redrawIntervalMs ?? 100;
  const now = options.now ?? Date.now;
  const files = new Map<string, FileState>();

  return (event) => {
    const key = `${event.repoId}/${event.file}`;
    switch (event.status) {
      case "initiate":
        return;
      case "waiting": {
        const who = event.owner ? ` (${event.owner})` : "";
        const line = `Waiting for another download of ${key}${who} to finish: ${Math.round(event.waitedMs / 1000)} s`;
        stream.write(stream.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
        return;
      }
      case "download": {
        const t = now();
        files.set(key, { startedAt: t, startLoaded: event.loaded, lastDrawAt: -Infinity, lastLoggedStep: -1, lastLoggedAt: t, downloading: true });
        if (!stream.isTTY) {
          const size = event.total === undefined ? "size unknown" : formatMB(event.total);
          const resumed = event.loaded > 0 ? `, resuming at ${formatMB(event.loaded)}` : "";
          stream.write(`Downloading ${key} (${size}${resumed})\n`);
        }
        return;
      }
      case "progress": {
        const state = files.get(key);
        if (!state) return;
        const t = now();
        const stalled = event.stalledMs !== undefined ? `  (no data for ${Math.round(event.stalledMs / 1000)} s)` : "";
        if (stream.isTTY) {
          if (t - state.lastDrawAt < redrawIntervalMs) return;
          state.lastDrawAt = t;
          stream.write(`\r${progressLine(event.file, event.loaded, event.total, state, t)}${stalled}\x1b[K`);
        } else {
          const step =
            event.total !== undefined && event.total > 0
              ? Math.floor(event.loaded / event.total / LOG_EVERY_FRACTION)
              : Math.floor(event.loaded / LOG_EVERY_BYTES);
          if (event.total !== undefined && event.loaded >= event.total) return; // "done" says 100%
          const due = t - state.lastLoggedAt >= LOG_AT_LEAST_EVERY_MS;
          if (state.lastLoggedStep === -1 && !due) {
            state.lastLoggedStep = step; // the first event only sets the baseline
            return;
          }
          if (step <= state.lastLoggedStep && !due) return;
          state.lastLoggedStep = Math.max(step, state.lastLoggedStep);
          state.lastLoggedAt = t;
          stream.write(`  ${progressLine(event.file, event.loaded, event.total, state, t)}${stalled}\n`);
        }
        return;
      }
      case "done": {
        const state = files.get(key);
        files.delete(key);
        if (event.cached || !state) return;
        const t = now();
        const loaded = event.loaded ?? 0;
        const line = progressLine(event.file, loaded, event.total ?? loaded, state, t);
        const seconds = ((t - state.startedAt) / 1000).toFixed(1);
        stream.write(stream.isTTY ? `\r${line}  done in ${seconds} s\x1b[K\n` : `  ${line}  done in ${seconds} s\n`);
        return;
      }
    }
  };
}

function progressLine(file: string, loaded: number, total: number | undefined, state: FileState, t: number): string {
  const seconds = Math.max((t - state.startedAt) / 1000, 1e-3);
  const speed = `${((loaded - state.startLoaded) / MB / seconds).toFixed(1)} MB/s`;
  if (total === undefined || total <= 0) return `${file}  ${formatMB(loaded)}  ${speed}`;
  const fraction = Math.min(loaded / total, 1);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${file} ${percent} ${bar}  ${(loaded / MB).toFixed(1)}/${formatMB(total)}  ${speed}`;
}

function formatMB(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}
