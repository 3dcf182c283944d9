/**
 * Downloads one blob into blobs/<etag>: one downloader per blob (in this process by a shared promise,
 * across processes by blobs/<etag>.lock), bytes into blobs/<etag>.incomplete, resumed with Range after
 * a cut connection or from an earlier run's leftover, verified (hubVerify.ts) and only then renamed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { HubDownloadError, TransientError, describeError, displayUrl, httpError } from "./hubErrors";
import { type LockOwner, withFileLock } from "./hubLock";
import type { HubFileMetadata } from "./hubMetadata";
import { parseSize } from "./hubMetadata";
import { type RequestContext, requestHeaders, sleep, timedFetch, withIdleTimeout } from "./hubRequest";
import { fileSize, verify } from "./hubVerify";

const inFlight = new Map<string, Promise<boolean>>();

/**
 * Downloads the blob unless it appears meanwhile; one downloader per blob across processes too
 * (blobs/<etag>.lock, see hubLock.ts). @returns whether this call downloaded it.
 */
export async function downloadBlobOnce(blob: string, meta: HubFileMetadata, ctx: RequestContext, staleLockMs?: number): Promise<boolean> {
  let running = inFlight.get(blob);
  if (!running) {
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    const onWait = (owner: LockOwner | undefined, waitedMs: number) =>
      ctx.emit({ status: "waiting", repoId: ctx.repoId, file: ctx.filename, waitedMs, owner: owner ? `process ${owner.pid} on ${owner.host}` : undefined });
    running = withFileLock(
      `${blob}.lock`,
      async () => {
        if (fs.existsSync(blob)) return false; // another process finished it while we waited
        await downloadBlob(blob, meta, ctx);
        return true;
      },
      { staleMs: staleLockMs, onWait },
    ).finally(() => inFlight.delete(blob));
    inFlight.set(blob, running);
  }
  return running;
}

async function downloadBlob(blob: string, meta: HubFileMetadata, ctx: RequestContext): Promise<void> {
  const incomplete = `${blob}.incomplete`;
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  let started = false;
  let failures = 0;
  let retriesInAll = 0;
  for (;;) {
    let offset = fileSize(incomplete);
    if (meta.size !== undefined && offset > meta.size) {
      fs.rmSync(incomplete, { force: true }); // longer than the file: not ours to resume
      offset = 0;
    }
    if (meta.size !== undefined && offset === meta.size) break; // complete (e.g. left by an earlier run): verify
    if (!started) {
      ctx.emit({ status: "download", repoId: ctx.repoId, file: ctx.filename, loaded: offset, total: meta.size });
      started = true;
    }
    let reason: unknown;
    try {
      await fetchInto(incomplete, offset, meta, ctx);
      const now = fileSize(incomplete);
      if (meta.size === undefined || now >= meta.size) break;
      reason = new TransientError(`the connection closed after ${now} of ${meta.size} bytes`);
    } catch (err) {
      if (!(err instanceof TransientError)) throw err;
      reason = err;
    }
    // A retry that made progress does not count against the limit: a long download may be cut often.
    // All retries together are still bounded, so a server that sends a little and stalls gives up.
    failures = fileSize(incomplete) > offset ? 1 : failures + 1;
    retriesInAll++;
    if (failures > ctx.retries || retriesInAll > ctx.totalRetries) {
      const kept = fileSize(incomplete);
      const status = reason instanceof TransientError ? reason.status : undefined;
      if (status !== undefined) {
        // The server answered, with an error: not the network's fault.
        throw new HubDownloadError(
          `${describeError(reason)} ${retriesInAll} times while downloading ${ctx.repoId}/${ctx.filename}: ` +
            `${status === 429 ? "the hub is rate-limiting requests" : "the server has a problem"}; try again in a few minutes ` +
            `(${kept} bytes are kept in ${incomplete} and resume). To work without the hub, ${ctx.localDirHint}`,
          "http",
          meta.location,
          status,
          { cause: reason },
        );
      }
      throw new HubDownloadError(
        `Downloading ${displayUrl(meta.location)} was interrupted ${retriesInAll > ctx.totalRetries ? `${retriesInAll} times in all` : failures === 1 ? "once" : `${failures} times in a row`} ` +
          `(last: ${describeError(reason)}). ` +
          `${kept} of ${meta.size ?? "?"} bytes are kept in ${incomplete}; call again to resume from there, ` +
          `or ${ctx.localDirHint}`,
        "network",
        meta.location,
        undefined,
        { cause: reason },
      );
    }
    await sleep(Math.min(ctx.retryDelayMs * 2 ** (failures - 1), 8000));
  }
  await verify(incomplete, meta, ctx);
  fs.renameSync(incomplete, blob); // atomic: the final name appears only for verified bytes
}

/**
 * One GET from `offset`, appending to `incomplete` (or rewriting it from zero when the server answers
 * 200 to a Range request). Returns when the body ended; network trouble throws TransientError.
 */
async function fetchInto(incomplete: string, offset: number, meta: HubFileMetadata, ctx: RequestContext): Promise<void> {
  const extra: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
  const controller = new AbortController();
  const res = await timedFetch(ctx, meta.location, { headers: requestHeaders(ctx, meta.location, extra), redirect: "follow" }, controller);
  if (res.status === 416 && offset > 0) {
    await res.body?.cancel().catch(() => undefined);
    fs.rmSync(incomplete, { force: true }); // the server has fewer bytes than we kept: start over
    throw new TransientError(`${displayUrl(meta.location)} refused the range from byte ${offset} (416)`);
  }
  if (res.status >= 500 || res.status === 429) {
    await res.body?.cancel().catch(() => undefined);
    throw new TransientError(`${displayUrl(meta.location)} answered ${res.status} ${res.statusText}`, undefined, res.status);
  }
  if (!res.ok) throw httpError(ctx, res, meta.location);

  let loaded = offset;
  if (res.status === 206) {
    const start = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1];
    if (offset === 0 || (start !== undefined && Number(start) !== offset)) {
      await res.body?.cancel().catch(() => undefined);
      fs.rmSync(incomplete, { force: true });
      throw new TransientError(`${displayUrl(meta.location)} sent a range starting at ${start} for a request from ${offset}`);
    }
  } else {
    loaded = 0; // 200: the whole file again (the server ignored Range), so the kept part is dropped
  }
  const total = meta.size ?? (res.status === 200 ? parseSize(res.headers.get("content-length")) : undefined);

  const file = await fs.promises.open(incomplete, loaded === 0 ? "w" : "a");
  const reader = res.body?.getReader();
  // While no bytes come, say so every 2 s (more often under a short stall timeout, so that it is said
  // before the timeout fires), so a stalled download is visible at once.
  const beatMs = Math.max(20, Math.min(2000, Math.floor(ctx.timeoutMs / 3)));
  let lastByteAt = Date.now();
  const heartbeat = setInterval(() => {
    const stalledMs = Date.now() - lastByteAt;
    if (stalledMs >= beatMs) ctx.emit({ status: "progress", repoId: ctx.repoId, file: ctx.filename, loaded, total, stalledMs });
  }, beatMs);
  heartbeat.unref();
  try {
    if (!reader) return;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await withIdleTimeout(ctx, controller, reader.read());
      } catch (err) {
        throw new TransientError(`the connection to ${displayUrl(meta.location)} broke after ${loaded} bytes: ${describeError(err)}`, err);
      }
      if (chunk.done) break;
      await file.write(chunk.value);
      loaded += chunk.value.byteLength;
      lastByteAt = Date.now();
      ctx.emit({ status: "progress", repoId: ctx.repoId, file: ctx.filename, loaded, total });
    }
  } finally {
    clearInterval(heartbeat);
    await file.close();
    reader?.cancel().catch(() => undefined);
  }
}
