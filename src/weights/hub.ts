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
 *
 * The parts: hubRequest.ts (options, headers, timeouts, retries), hubMetadata.ts (HEAD), hubBlob.ts
 * (GET, resume, lock), hubVerify.ts (checks), hubErrors.ts (messages), hubCache.ts (layout).
 */
import * as fs from "node:fs";
import { downloadBlobOnce } from "./hubBlob";
import { findCachedHubFile, hubCacheDir, hubCachePaths, linkSnapshotFile, writeRef } from "./hubCache";
import { HubDownloadError, MODEL_LOCAL_DIR_HINT, diskError } from "./hubErrors";
import { fetchMetadata } from "./hubMetadata";
import type { DownloadProgressEvent } from "./hubProgress";
import { type DownloadHubFileOptions, makeContext } from "./hubRequest";

export { hubCacheDir, repoFolderName, findCachedHubFile, hubCachePaths } from "./hubCache";
export { HubDownloadError, type HubErrorCode } from "./hubErrors";
export { stderrProgressBar } from "./hubProgress";
export type { DownloadProgressEvent, DownloadProgressCallback, ProgressBarOptions, ProgressStream } from "./hubProgress";
export type { DownloadHubFileOptions } from "./hubRequest";

export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";
export const DEFAULT_REVISION = "main";

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
