/**
 * A hub file that a repo may or may not have (an SAE's sparsity.safetensors): its local path, or null
 * when the hub says the repo has no such file. The absence is recorded as huggingface_hub does
 * (`.no_exist/<commit>/<file>`, see hubCache.ts), so asking again makes no request.
 */
import { findCachedHubFile, hubCacheDir, hubCachePaths, isKnownMissing, isSafePathSegment, markMissing } from "./hubCache";
import { DEFAULT_REVISION, DownloadHubFileOptions, HubDownloadError, downloadHubFile } from "./hub";

/**
 * As `downloadHubFile`, except that a file missing from the repo (404 EntryNotFound) gives null
 * instead of an error. Every other failure (unknown repo or revision, network, integrity) still throws.
 */
export async function downloadOptionalHubFile(repoId: string, filename: string, options: DownloadHubFileOptions = {}): Promise<string | null> {
  const revision = options.revision ?? DEFAULT_REVISION;
  const paths = hubCachePaths(hubCacheDir(options.cacheDir), repoId, filename);
  if (findCachedHubFile(paths, revision) === undefined && isKnownMissing(paths, revision)) return null;
  try {
    return await downloadHubFile(repoId, filename, options);
  } catch (err) {
    if (!(err instanceof HubDownloadError) || err.code !== "not-found" || err.hubErrorCode !== "EntryNotFound") throw err;
    if (err.commit !== undefined && isSafePathSegment(err.commit)) markMissing(paths, revision, err.commit);
    return null;
  }
}
