/**
 * One download's request settings (the options of downloadHubFile resolved against the environment)
 * and the request helpers: headers (the token only to the hub), fetch with a stall timeout, retries
 * with back-off.
 */
import type { DownloadProgressCallback, DownloadProgressEvent } from "./hubProgress";
import { HubDownloadError, MODEL_LOCAL_DIR_HINT, TransientError, describeError, displayUrl, errorCode } from "./hubErrors";

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

export interface RequestContext {
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

export function makeContext(
  repoId: string,
  filename: string,
  revision: string,
  url: string,
  options: DownloadHubFileOptions,
  emit: (event: DownloadProgressEvent) => void,
): RequestContext {
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
export function isHubUrl(ctx: RequestContext, target: string): boolean {
  const u = new URL(target);
  const hub = new URL(ctx.url);
  return u.origin === hub.origin || (u.protocol === "https:" && KNOWN_HUB_HOSTS.includes(u.hostname));
}

/** Headers for one request; the token goes only to the hub, never to a CDN. */
export function requestHeaders(ctx: RequestContext, target: string, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = {
    "User-Agent": `mechinterp-ts; node/${process.versions.node}`,
    // Sizes must be the file's own: no transparent gzip (huggingface_hub asks for identity too).
    "Accept-Encoding": "identity",
    ...extra,
  };
  if (ctx.token && isHubUrl(ctx, target)) headers.Authorization = `Bearer ${ctx.token}`;
  return headers;
}

/** fetch with the idle timeout on the wait for headers; connection failures become TransientError. */
export async function timedFetch(ctx: RequestContext, target: string, init: RequestInit, controller = new AbortController()): Promise<Response> {
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

export async function withIdleTimeout<T>(ctx: RequestContext, controller: AbortController, work: Promise<T>): Promise<T> {
  const timer = setTimeout(() => controller.abort(new Error(`no data for ${ctx.timeoutMs} ms`)), ctx.timeoutMs);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}

/** Unreachable hosts (no network, wrong HF_ENDPOINT) fail at once instead of being retried. */
const UNREACHABLE_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

export async function withRetries<T>(ctx: RequestContext, what: string, retries: number, attempt: () => Promise<T>): Promise<T> {
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
