/**
 * Downloads one file of a Hugging Face model repo into the hub cache (layout in hubCache.ts), as
 * huggingface_hub's `hf_hub_download` does:
 *
 *  1. A file already in the cache (snapshots/<commit>/<file>, with refs/<revision> naming the commit)
 *     is returned at once, without network access.
 *  2. Otherwise a HEAD request on {endpoint}/{repo}/resolve/{revision}/{file} gives the commit
 *     (X-Repo-Commit), the blob's etag (X-Linked-Etag for LFS files, else ETag), its size (X-Linked-Size,
 *     else Content-Length) and, for LFS files, an absolute redirect to the CDN, which is downloaded
 *     directly. Redirects within the hub (a renamed repo, /api/resolve-cache for small files) are followed.
 *  3. Bytes go to blobs/<etag>.incomplete; a cut connection is resumed with `Range: bytes=N-` (a few
 *     times in one call, and from a leftover file of an earlier run). A server that ignores Range
 *     (200 instead of 206) restarts the file from zero.
 *  4. The size is checked, and the sha256 where the etag is one (LFS files); only then is the file renamed
 *     to blobs/<etag>, so no half file ever has the final name. The snapshot entry is a symlink to it.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  findCachedHubFile,
  hubCacheDir,
  hubCachePaths,
  isSafePathSegment,
  linkSnapshotFile,
  writeRef,
  type HubCachePaths,
} from "./hubCache";
import type { DownloadProgressCallback, DownloadProgressEvent } from "./hubProgress";
import { type LockOwner, withFileLock } from "./hubLock";

export { hubCacheDir, repoFolderName, findCachedHubFile, hubCachePaths } from "./hubCache";
export { stderrProgressBar } from "./hubProgress";
export type { DownloadProgressEvent, DownloadProgressCallback, ProgressBarOptions, ProgressStream } from "./hubProgress";

export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";
export const DEFAULT_REVISION = "main";

export interface DownloadHubFileOptions {
  /** Branch, tag or full commit hash (default "main"). */
  revision?: string;
  /** Cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Hub address (default $HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Access token for gated or private repos, sent as `Authorization: Bearer` to the hub only (default $HF_TOKEN). */
  token?: string;
  /** Receives initiate, download, progress…, done for this file; `stderrProgressBar()` draws them. */
  onProgress?: DownloadProgressCallback;
  /** The fetch to use (default the global one); tests and proxies pass their own. */
  fetch?: typeof fetch;
  /** Never touch the network: return the cached file or fail (default true when $HF_HUB_OFFLINE=1). */
  localFilesOnly?: boolean;
  /** How many times one call retries after a cut connection or a 5xx answer without progress (default 5). */
  retries?: number;
  /** Wait before the first retry, doubled each time up to 8 s (default 1000 ms). */
  retryDelayMs?: number;
  /**
   * Stall timeout: a request that gets no byte for this long counts as a cut connection (default
   * $HF_HUB_DOWNLOAD_TIMEOUT seconds, else 10 s, as huggingface_hub).
   */
  timeoutMs?: number;
  /** Most retries in one call in all, even when each makes a little progress (default 4 × retries). */
  totalRetries?: number;
  /** Cross-process lock: a lock file untouched this long belongs to a dead downloader (default 30 s). */
  staleLockMs?: number;
  /**
   * How errors end "To work without the hub, …": what the caller's local fallback is (default: the
   * model's, MODEL_OVERRIDE_DIR). The SAE loader names SAE_OVERRIDE_DIR here.
   */
  localDirHint?: string;
}

/** What went wrong, for callers that react differently (e.g. fall back to a local directory on "network"). */
export type HubErrorCode =
  | "invalid-argument" // repo id, file name or revision malformed
  | "offline" // localFilesOnly / HF_HUB_OFFLINE and the file is not cached
  | "not-found" // 404: no such repo, revision or file
  | "unauthorized" // 401/403: gated or private repo, or a bad token
  | "http" // any other HTTP error status
  | "network" // the hub could not be reached, or the connection kept failing
  | "protocol" // the server's answer lacks what the hub always sends (commit, etag)
  | "integrity" // size, sha256 or git-sha1 of the downloaded bytes is wrong, or a JSON file does not parse
  | "disk"; // the cache folder cannot be written: full, read-only, or no permission

export class HubDownloadError extends Error {
  override readonly name = "HubDownloadError";
  /** The hub's X-Error-Code (e.g. "EntryNotFound", "RepoNotFound"), when it sent one. */
  readonly hubErrorCode?: string;
  /** The X-Repo-Commit of an error answer (the hub sends it with EntryNotFound). */
  readonly commit?: string;
  constructor(
    message: string,
    readonly code: HubErrorCode,
    readonly url?: string,
    readonly status?: number,
    options?: { cause?: unknown; hubErrorCode?: string; commit?: string },
  ) {
    super(message, options);
    this.hubErrorCode = options?.hubErrorCode;
    this.commit = options?.commit;
  }
}

/** Completes "To work without the hub, " / "or " (the default of the localDirHint option). */
const MODEL_LOCAL_DIR_HINT =
  "set MODEL_OVERRIDE_DIR to a local directory holding config.json and model.safetensors " +
  "(or pass that directory instead of the model name).";

/** The URL huggingface_hub's hf_hub_url builds: {endpoint}/{repoId}/resolve/{revision}/{filename}. */
export function hubFileUrl(repoId: string, filename: string, options: { revision?: string; endpoint?: string } = {}): string {
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, "");
  const revision = encodeURIComponent(options.revision ?? DEFAULT_REVISION);
  const file = filename.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${repoId}/resolve/${revision}/${file}`;
}

/**
 * Returns the local path of `filename` from the hub repo `repoId` (e.g. "openai-community/gpt2",
 * "model.safetensors"), downloading it into the cache first when it is not there yet.
 * Throws HubDownloadError (see HubErrorCode) with the URL, the status and what to do.
 */
export async function downloadHubFile(repoId: string, filename: string, options: DownloadHubFileOptions = {}): Promise<string> {
  const revision = options.revision ?? DEFAULT_REVISION;
  validateArguments(repoId, filename, revision);
  const cacheDir = hubCacheDir(options.cacheDir);
  const paths = hubCachePaths(cacheDir, repoId, filename);
  const emit = (event: DownloadProgressEvent) => options.onProgress?.(event);
  emit({ status: "initiate", repoId, file: filename });

  const cached = findCachedHubFile(paths, revision);
  if (cached !== undefined) {
    emit({ status: "done", repoId, file: filename, cached: true });
    return cached;
  }

  const url = hubFileUrl(repoId, filename, { revision, endpoint: options.endpoint });
  const localFilesOnly = options.localFilesOnly ?? isTruthyEnv(process.env.HF_HUB_OFFLINE);
  if (localFilesOnly) {
    throw new HubDownloadError(
      `${repoId}/${filename} (revision ${revision}) is not in the cache ${cacheDir} and network access is off ` +
        `(${options.localFilesOnly ? "localFilesOnly" : "HF_HUB_OFFLINE is set"}), so ${url} was not requested. ` +
        `Download it once with network access, or ${options.localDirHint ?? MODEL_LOCAL_DIR_HINT}`,
      "offline",
      url,
    );
  }

  const ctx = makeContext(repoId, filename, revision, url, options, emit);
  const meta = await fetchMetadata(ctx);
  let downloaded = false;
  const pointer = paths.snapshotFile(meta.commit);
  try {
    writeRef(paths, revision, meta.commit);
    if (!fs.existsSync(pointer)) {
      const blob = paths.blob(meta.etag);
      if (!fs.existsSync(blob)) downloaded = await downloadBlobOnce(blob, meta, ctx, options.staleLockMs);
      linkSnapshotFile(blob, pointer);
    }
  } catch (err) {
    throw diskError(err, cacheDir, ctx, meta.size) ?? err;
  }
  const size = fs.statSync(pointer).size;
  emit({ status: "done", repoId, file: filename, cached: !downloaded, loaded: size, total: size });
  return pointer;
}

// ---------------------------------------------------------------------------------------------------
// Arguments and environment

const REPO_ID_PATTERN = /^([\w.-]+\/)?[\w.-]+$/;

function validateArguments(repoId: string, filename: string, revision: string): void {
  // As huggingface_hub's validate_repo_id: "name" or "namespace/name", word characters, "-" and ".".
  if (!REPO_ID_PATTERN.test(repoId) || repoId.includes("--") || repoId.includes("..") || repoId.length > 96) {
    throw new HubDownloadError(
      `Invalid hub repo id ${JSON.stringify(repoId)}: expected "name" or "namespace/name" ` +
        `(letters, digits, "-", "_", "."; e.g. "openai-community/gpt2").`,
      "invalid-argument",
    );
  }
  for (const [what, value] of [
    ["file name", filename],
    ["revision", revision],
  ] as const) {
    const parts = value.split("/");
    if (value.length === 0 || value.includes("\\") || parts.some((p) => p === "" || p === "." || p === "..")) {
      throw new HubDownloadError(
        `Invalid ${what} ${JSON.stringify(value)} for hub repo ${repoId}: it must be a relative path ` +
          `inside the repo without empty, "." or ".." parts and without backslashes.`,
        "invalid-argument",
      );
    }
  }
}

function isTruthyEnv(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}

interface Context {
  repoId: string;
  filename: string;
  revision: string;
  url: string;
  token?: string;
  fetch: typeof fetch;
  retries: number;
  totalRetries: number;
  retryDelayMs: number;
  timeoutMs: number;
  localDirHint: string;
  emit: (event: DownloadProgressEvent) => void;
}

function makeContext(
  repoId: string,
  filename: string,
  revision: string,
  url: string,
  options: DownloadHubFileOptions,
  emit: (event: DownloadProgressEvent) => void,
): Context {
  return {
    repoId,
    filename,
    revision,
    url,
    token: options.token ?? (process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || undefined),
    fetch: options.fetch ?? fetch,
    retries: options.retries ?? 5,
    totalRetries: options.totalRetries ?? 4 * (options.retries ?? 5),
    retryDelayMs: options.retryDelayMs ?? 1000,
    timeoutMs: options.timeoutMs ?? defaultTimeoutMs(),
    localDirHint: options.localDirHint ?? MODEL_LOCAL_DIR_HINT,
    emit,
  };
}

/** $HF_HUB_DOWNLOAD_TIMEOUT (seconds) as huggingface_hub reads it, else 10 s. */
function defaultTimeoutMs(): number {
  const seconds = Number(process.env.HF_HUB_DOWNLOAD_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 10_000;
}

/** Hosts that are the hub itself, besides the endpoint's own: redirects to them are followed, tokens sent. */
const KNOWN_HUB_HOSTS = ["huggingface.co", "hf.co"];

/** The endpoint's host or a known hub host (not a CDN or storage bridge, which get neither token nor HEAD hops). */
function isHubUrl(ctx: Context, target: string): boolean {
  const u = new URL(target);
  const hub = new URL(ctx.url);
  return u.origin === hub.origin || (u.protocol === "https:" && KNOWN_HUB_HOSTS.includes(u.hostname));
}

/** Headers for one request; the token goes only to the hub, never to a CDN. */
function requestHeaders(ctx: Context, target: string, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = {
    "User-Agent": `mechinterp-ts; node/${process.versions.node}`,
    // Sizes must be the file's own: no transparent gzip (huggingface_hub asks for identity too).
    "Accept-Encoding": "identity",
    ...extra,
  };
  if (ctx.token && isHubUrl(ctx, target)) headers.Authorization = `Bearer ${ctx.token}`;
  return headers;
}

// ---------------------------------------------------------------------------------------------------
// Metadata (HEAD)

interface HubFileMetadata {
  /** X-Repo-Commit: the commit the revision resolved to. */
  commit: string;
  /** X-Linked-Etag (LFS: the sha256) or ETag (git blob sha1), quotes and W/ removed. */
  etag: string;
  /** X-Linked-Size or Content-Length, when given. */
  size?: number;
  /** Where the bytes are: the CDN URL an LFS file redirects to, else the resolve URL. */
  location: string;
}

async function fetchMetadata(ctx: Context): Promise<HubFileMetadata> {
  const MAX_HUB_REDIRECTS = 5;
  let target = ctx.url;
  let res: Response;
  let commitOnRedirect: string | undefined;
  for (let hop = 0; ; hop++) {
    // Few retries: a hub that does not answer a HEAD is usually unreachable, and each try may wait timeoutMs.
    res = await withRetries(ctx, `HEAD ${displayUrl(target)}`, Math.min(ctx.retries, 2), async () => {
      const res = await timedFetch(ctx, target, { method: "HEAD", redirect: "manual", headers: requestHeaders(ctx, target) });
      if (res.status >= 500 || res.status === 429) throw new TransientError(`${displayUrl(target)} answered ${res.status} ${res.statusText}`, undefined, res.status);
      return res;
    });
    const location = res.headers.get("location");
    const isRedirect = res.status >= 300 && res.status < 400;
    // Redirects within the hub are followed (a renamed repo; small files go to /api/resolve-cache/…). One to
    // another host is the CDN of an LFS file: its metadata is on this answer, and the GET goes there.
    if (isRedirect && location && isHubUrl(ctx, new URL(location, target).toString())) {
      if (hop >= MAX_HUB_REDIRECTS) {
        throw new HubDownloadError(
          `${ctx.url} redirected more than ${MAX_HUB_REDIRECTS} times (last to ${displayUrl(new URL(location, target).toString())}): ` +
            `a redirect loop. A proxy or a wrong HF_ENDPOINT is the usual cause; check HF_ENDPOINT, or ${ctx.localDirHint}`,
          "http",
          target,
          res.status,
        );
      }
      commitOnRedirect = res.headers.get("x-repo-commit") ?? commitOnRedirect;
      target = new URL(location, target).toString();
      continue;
    }
    break;
  }
  if (!res.ok && !(res.status >= 300 && res.status < 400)) throw httpError(ctx, res, target);

  const commit = res.headers.get("x-repo-commit") ?? commitOnRedirect;
  const etag = normalizeEtag(res.headers.get("x-linked-etag") ?? res.headers.get("etag") ?? undefined);
  const location = res.headers.get("location");
  if (commit === undefined || etag === undefined) {
    throw new HubDownloadError(
      `${displayUrl(target)} answered without ${commit === undefined ? "an X-Repo-Commit" : "an ETag"} header, which the Hugging Face ` +
        `hub always sends: the endpoint (HF_ENDPOINT or the endpoint option) does not look like a hub. ` +
        `To work without the hub, ${ctx.localDirHint}`,
      "protocol",
      target,
      res.status,
    );
  }
  if (!isSafePathSegment(commit) || !isSafePathSegment(etag)) {
    throw new HubDownloadError(
      `${displayUrl(target)} sent a commit (${JSON.stringify(commit)}) or etag (${JSON.stringify(etag)}) that cannot name a cache ` +
        `file; refusing to write outside the cache.`,
      "protocol",
      target,
      res.status,
    );
  }
  return {
    commit,
    etag,
    size: parseSize(res.headers.get("x-linked-size") ?? res.headers.get("content-length")),
    location: location ? new URL(location, target).toString() : target,
  };
}

/** `"abc"` and `W/"abc"` -> `abc` (the hub sends the quoted form). */
function normalizeEtag(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  const value = etag.trim().replace(/^W\//, "").replace(/^"|"$/g, "");
  return value.length > 0 ? value : undefined;
}

function parseSize(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

// ---------------------------------------------------------------------------------------------------
// Download (GET), resume, verification

/** One download per blob at a time in this process; a second caller waits for the first. */
const inFlight = new Map<string, Promise<boolean>>();

/**
 * Downloads the blob unless it appears meanwhile; one downloader per blob across processes too
 * (blobs/<etag>.lock, see hubLock.ts). @returns whether this call downloaded it.
 */
async function downloadBlobOnce(blob: string, meta: HubFileMetadata, ctx: Context, staleLockMs?: number): Promise<boolean> {
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

async function downloadBlob(blob: string, meta: HubFileMetadata, ctx: Context): Promise<void> {
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
async function fetchInto(incomplete: string, offset: number, meta: HubFileMetadata, ctx: Context): Promise<void> {
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
  // While no bytes come, say so every 2 s, so a stalled or trickling download is visible at once.
  let lastByteAt = Date.now();
  const heartbeat = setInterval(() => {
    const stalledMs = Date.now() - lastByteAt;
    if (stalledMs >= 2000) ctx.emit({ status: "progress", repoId: ctx.repoId, file: ctx.filename, loaded, total, stalledMs });
  }, 2000);
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

async function verify(incomplete: string, meta: HubFileMetadata, ctx: Context): Promise<void> {
  const reject = (what: string): never => {
    fs.rmSync(incomplete, { force: true });
    throw new HubDownloadError(`Downloaded file from ${displayUrl(meta.location)} ${what} The bad data was deleted; call again to download afresh.`, "integrity", meta.location);
  };
  const size = fileSize(incomplete);
  if (meta.size !== undefined && size !== meta.size) reject(`has ${size} bytes, expected ${meta.size} (X-Linked-Size/Content-Length).`);
  if (/^[0-9a-f]{64}$/.test(meta.etag)) {
    const actual = await hashFile(incomplete, "sha256");
    if (actual !== meta.etag) reject(`is corrupt: sha256 ${actual}, expected ${meta.etag} (the hub's LFS etag).`);
  } else if (/^[0-9a-f]{40}$/.test(meta.etag)) {
    // A small (non-LFS) file's ETag is its git blob id: sha1 of "blob <size>\0" and the bytes.
    const actual = await hashFile(incomplete, "sha1", `blob ${size}\0`);
    if (actual !== meta.etag) {
      reject(
        `is not the file the hub describes: its git-sha1 is ${actual}, the ETag says ${meta.etag}` +
          `${looksLikeHtml(incomplete) ? " (it is an HTML page: a proxy, captive portal or login page answered instead of the hub)" : ""}.`
      );
    }
  }
  if (ctx.filename.endsWith(".json")) {
    try {
      JSON.parse(fs.readFileSync(incomplete, "utf8"));
    } catch (err) {
      reject(
        `should be JSON but is not (${(err as Error).message})` +
          `${looksLikeHtml(incomplete) ? "; it is an HTML page: a proxy, captive portal or login page answered instead of the hub" : ""}.`
      );
    }
  }
}

/** Whether a file starts like a web page (what captive portals and proxies send). */
function looksLikeHtml(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(256);
    const n = fs.readSync(fd, head, 0, 256, 0);
    return /^\s*<(!doctype html|html|head|body)/i.test(head.subarray(0, n).toString("utf8"));
  } finally {
    fs.closeSync(fd);
  }
}

async function hashFile(file: string, algorithm: "sha256" | "sha1", prefix = ""): Promise<string> {
  const hash = createHash(algorithm);
  hash.update(prefix);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------------
// Requests: timeouts, retries, errors

/** Network trouble worth retrying (cut connection, timeout, 5xx); everything else is thrown at once. */
class TransientError extends Error {
  /** @param status the HTTP status when the server answered (5xx, 429), else undefined (no answer). */
  constructor(message: string, cause?: unknown, readonly status?: number) {
    super(message, { cause });
  }
}

/** fetch with the idle timeout on the wait for headers; connection failures become TransientError. */
async function timedFetch(ctx: Context, target: string, init: RequestInit, controller = new AbortController()): Promise<Response> {
  try {
    return await withIdleTimeout(ctx, controller, ctx.fetch(target, { ...init, signal: controller.signal }));
  } catch (err) {
    if (err instanceof HubDownloadError) throw err;
    if (/redirect count exceeded/i.test(describeError(err))) {
      throw new HubDownloadError(
        `${displayUrl(target)} redirected too many times (a redirect loop) while downloading ${ctx.repoId}/${ctx.filename}. ` +
          `A proxy or a wrong HF_ENDPOINT is the usual cause; check HF_ENDPOINT, or ${ctx.localDirHint}`,
        "http",
        target,
      );
    }
    throw new TransientError(`could not reach ${displayUrl(target)}: ${describeError(err)}`, err);
  }
}

async function withIdleTimeout<T>(ctx: Context, controller: AbortController, work: Promise<T>): Promise<T> {
  const timer = setTimeout(() => controller.abort(new Error(`no data for ${ctx.timeoutMs} ms`)), ctx.timeoutMs);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}

/** Unreachable hosts (no network, wrong HF_ENDPOINT) fail at once instead of being retried. */
const UNREACHABLE_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

async function withRetries<T>(ctx: Context, what: string, retries: number, attempt: () => Promise<T>): Promise<T> {
  for (let failures = 0; ; ) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof TransientError)) throw err;
      failures++;
      const code = errorCode(err);
      if (failures > retries && err.status !== undefined) {
        throw new HubDownloadError(
          `${err.message} ${failures} times while getting ${ctx.repoId}/${ctx.filename} (${what}): ` +
            `${err.status === 429 ? "the hub is rate-limiting requests" : "the server has a problem"}; try again in a few minutes. ` +
            `To work without the hub, ${ctx.localDirHint}`,
          "http",
          ctx.url,
          err.status,
          { cause: err },
        );
      }
      if (failures > retries || (code !== undefined && UNREACHABLE_CODES.has(code))) {
        throw new HubDownloadError(
          `Could not get ${ctx.repoId}/${ctx.filename} from the Hugging Face hub (${what}): ${describeError(err)}. ` +
            `Check the network connection (or HF_ENDPOINT). To work without the hub, ${ctx.localDirHint}`,
          "network",
          ctx.url,
          undefined,
          { cause: err },
        );
      }
      await sleep(Math.min(ctx.retryDelayMs * 2 ** (failures - 1), 8000));
    }
  }
}

/** The error for a non-success answer, with the hub's X-Error-Code/X-Error-Message and what to do. */
function httpError(ctx: Context, res: Response, target: string): HubDownloadError {
  res.body?.cancel().catch(() => undefined);
  const hubCode = res.headers.get("x-error-code") ?? "";
  const hubMessage = res.headers.get("x-error-message");
  const said = `${displayUrl(target)} answered ${res.status} ${res.statusText}${hubMessage ? ` (${hubMessage})` : ""}`;
  const tokenNote = ctx.token
    ? "the token sent (HF_TOKEN or the token option) was not accepted: check that it is valid and has read access to this repo."
    : "set HF_TOKEN to a Hugging Face access token (https://huggingface.co/settings/tokens).";
  const fromHub = new URL(target).origin === new URL(ctx.url).origin;
  if (!fromHub && (res.status === 401 || res.status === 403 || res.status === 404)) {
    return new HubDownloadError(
      `${said}: the storage server the hub redirected to refused the download of ${ctx.repoId}/${ctx.filename} ` +
        `(the signed link may have expired). Call again to get a fresh link.`,
      "http",
      target,
      res.status,
    );
  }
  if (res.status === 401 || res.status === 403 || hubCode === "GatedRepo") {
    const gated = hubCode === "GatedRepo" || res.status === 403;
    return new HubDownloadError(
      gated
        ? `${said}: ${ctx.repoId} is gated or private. Accept its conditions on its hub page while logged in; ${tokenNote}`
        : `${said}: the repo ${ctx.repoId} does not exist, or it is private or gated. Check the repo id ` +
            `(e.g. "openai-community/gpt2"); if it is private or gated: ${tokenNote}`,
      "unauthorized",
      target,
      res.status,
    );
  }
  if (res.status === 404) {
    const what =
      hubCode === "RevisionNotFound"
        ? `the revision "${ctx.revision}" does not exist in ${ctx.repoId}: check the branch, tag or commit.`
        : hubCode === "RepoNotFound"
          ? `the repo ${ctx.repoId} does not exist: check the repo id (e.g. "openai-community/gpt2").`
          : `${ctx.filename} was not found in ${ctx.repoId} at revision "${ctx.revision}": check the repo id and the file name.`;
    return new HubDownloadError(`${said}: ${what}`, "not-found", target, res.status, {
      hubErrorCode: hubCode || undefined,
      commit: res.headers.get("x-repo-commit") ?? undefined,
    });
  }
  return new HubDownloadError(`${said} while downloading ${ctx.repoId}/${ctx.filename}.`, "http", target, res.status);
}

/**
 * A file-system failure in the cache as an error that names the folder and what to do, or
 * undefined for anything else. @param needed bytes the download needs, when known
 */
function diskError(err: unknown, cacheDir: string, ctx: Context, needed: number | undefined): HubDownloadError | undefined {
  if (err instanceof HubDownloadError) return undefined;
  const code = errorCode(err);
  const where = (err as NodeJS.ErrnoException)?.path ?? cacheDir;
  const move = `Set HF_HUB_CACHE (or HF_HOME) to a folder you can write, or pass the cacheDir option.`;
  const file = `${ctx.repoId}/${ctx.filename}`;
  if (code === "ENOSPC" || code === "EDQUOT") {
    let free = "";
    try {
      const st = fs.statfsSync(fs.existsSync(cacheDir) ? cacheDir : path.dirname(cacheDir));
      free = ` (${(st.bavail * st.bsize / 1e6).toFixed(1)} MB free)`;
    } catch {
      // statfs unavailable: say less
    }
    const need = needed !== undefined ? `${(needed / 1e6).toFixed(1)} MB` : "more space";
    return new HubDownloadError(
      `The disk holding the hub cache ${cacheDir} is full${free}: ${file} needs ${need}. ` +
        `Free some space (partial downloads are kept and resume), or ${move.charAt(0).toLowerCase()}${move.slice(1)}`,
      "disk",
      ctx.url,
      undefined,
      { cause: err },
    );
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    const why = code === "EROFS" ? "is on a read-only file system" : "is not writable by this user";
    return new HubDownloadError(`Cannot save ${file}: the hub cache ${cacheDir} ${why} (${code} on ${where}). ${move}`, "disk", ctx.url, undefined, { cause: err });
  }
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new HubDownloadError(
      `Cannot save ${file}: a folder of the hub cache ${cacheDir} cannot be created (${code} on ${where}; is HOME set and does the path exist?). ${move}`,
      "disk",
      ctx.url,
      undefined,
      { cause: err },
    );
  }
  return undefined;
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/** A URL for messages: signed CDN links carry long, private query strings. */
function displayUrl(url: string): string {
  const u = new URL(url);
  return u.search ? `${u.origin}${u.pathname}?…` : url;
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof TransientError) return err.message; // already lists its causes
  const causes: string[] = [];
  for (let e: unknown = err.cause, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    causes.push(typeof code === "string" ? `${code}: ${e.message}` : e.message);
  }
  return causes.length > 0 ? `${err.message} (${causes.join("; ")})` : err.message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
