/**
 * The HEAD request that tells what to download: the commit a revision resolves to, the blob's etag
 * and size, and where the bytes are (the CDN an LFS file redirects to). Redirects within the hub are
 * followed, a loop of them is reported as such.
 */
import { isSafePathSegment } from "./hubCache";
import { HubDownloadError, TransientError, displayUrl, httpError } from "./hubErrors";
import { type RequestContext, isHubUrl, requestHeaders, timedFetch, withRetries } from "./hubRequest";

export interface HubFileMetadata {
  /** X-Repo-Commit: the commit the revision resolved to. */
  commit: string;
  /** X-Linked-Etag (LFS: the sha256) or ETag (git blob sha1), quotes and W/ removed. */
  etag: string;
  /** X-Linked-Size or Content-Length, when given. */
  size?: number;
  /** Where the bytes are: the CDN URL an LFS file redirects to, else the resolve URL. */
  location: string;
}

export async function fetchMetadata(ctx: RequestContext): Promise<HubFileMetadata> {
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

export function parseSize(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

