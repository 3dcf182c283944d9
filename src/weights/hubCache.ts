/**
 * The Hugging Face hub cache on disk, in the layout `huggingface_hub` (Python) uses, so that weights a
 * learner already downloaded with Python are found here and the other way round:
 *
 *   <cacheDir>/models--openai-community--gpt2/
 *     blobs/<etag>                          the file's bytes; an LFS etag is the file's sha256
 *     blobs/<etag>.incomplete               a download in progress (resumed from its length)
 *     refs/main                             the commit hash `main` pointed to when last resolved
 *     snapshots/<commit>/model.safetensors  -> ../../blobs/<etag>  (symlink; a copy where symlinks fail)
 *     .no_exist/<commit>/sparsity.safetensors  empty: the repo has no such file at that commit
 *
 * Only paths and files here: no network (that is hub.ts).
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A full git commit hash, as the hub sends in X-Repo-Commit. */
export const COMMIT_HASH_PATTERN = /^[0-9a-f]{40}$/;

/**
 * The cache folder: `override`, else $HF_HUB_CACHE, else ($HF_HOME, else $XDG_CACHE_HOME/huggingface,
 * else ~/.cache/huggingface) + "/hub" — the order huggingface_hub's constants use.
 */
export function hubCacheDir(override?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (override) return path.resolve(expandHome(override));
  const hubCache = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (hubCache) return path.resolve(expandHome(hubCache));
  const xdgCache = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  const hfHome = env.HF_HOME || path.join(xdgCache, "huggingface");
  return path.resolve(expandHome(hfHome), "hub");
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/** `openai-community/gpt2` -> `models--openai-community--gpt2` (huggingface_hub's repo_folder_name). */
export function repoFolderName(repoId: string): string {
  return ["models", ...repoId.split("/")].join("--");
}

/** Where one file of one repo lives in the cache. */
export interface HubCachePaths {
  /** <cacheDir>/models--org--name */
  repoDir: string;
  /** <repoDir>/snapshots/<commit>/<filename> */
  snapshotFile(commit: string): string;
  /** <repoDir>/blobs/<etag> */
  blob(etag: string): string;
  /** <repoDir>/refs/<revision> */
  ref(revision: string): string;
  /** <repoDir>/.no_exist/<commit>/<filename>: an empty marker that the file is absent at that commit. */
  noExist(commit: string): string;
}

export function hubCachePaths(cacheDir: string, repoId: string, filename: string): HubCachePaths {
  const repoDir = path.join(cacheDir, repoFolderName(repoId));
  const fileParts = filename.split("/");
  return {
    repoDir,
    snapshotFile: (commit) => path.join(repoDir, "snapshots", commit, ...fileParts),
    blob: (etag) => path.join(repoDir, "blobs", etag),
    ref: (revision) => path.join(repoDir, "refs", ...revision.split("/")),
    noExist: (commit) => path.join(repoDir, ".no_exist", commit, ...fileParts),
  };
}

/** The commit a revision names: the revision itself when it is a full hash, else the content of refs/<revision>. */
export function resolveCachedCommit(paths: HubCachePaths, revision: string): string | undefined {
  if (COMMIT_HASH_PATTERN.test(revision)) return revision;
  try {
    const commit = fs.readFileSync(paths.ref(revision), "utf8").trim();
    return commit.length > 0 && isSafePathSegment(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The cached snapshot file for `revision`, without any network access (huggingface_hub's
 * try_to_load_from_cache); undefined when it is not there or its symlink dangles.
 */
export function findCachedHubFile(paths: HubCachePaths, revision: string): string | undefined {
  const commit = resolveCachedCommit(paths, revision);
  if (commit === undefined) return undefined;
  const file = paths.snapshotFile(commit);
  return fs.existsSync(file) ? file : undefined; // existsSync follows the symlink: a dangling link is a miss
}

/** Records refs/<revision> = commit (skipped when the revision is the commit itself), atomically. */
export function writeRef(paths: HubCachePaths, revision: string, commit: string): void {
  if (revision === commit) return;
  const refFile = paths.ref(revision);
  try {
    if (fs.readFileSync(refFile, "utf8").trim() === commit) return; // unchanged: a read-only cache stays usable
  } catch {
    // no ref yet
  }
  fs.mkdirSync(path.dirname(refFile), { recursive: true });
  const tmp = `${refFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, commit);
  fs.renameSync(tmp, refFile);
}

/**
 * Makes `pointer` (a snapshot file) show the content of `blob`: a relative symlink as huggingface_hub
 * makes, else a hard link, else a copy (Windows without developer mode, some network drives). The
 * link or copy is made beside the pointer under a name of this call's own and renamed over it, so
 * several processes may link the same file at once and the pointer is never missing or half-written.
 */
export function linkSnapshotFile(blob: string, pointer: string): void {
  fs.mkdirSync(path.dirname(pointer), { recursive: true });
  const tmp = `${pointer}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    try {
      fs.symlinkSync(path.relative(path.dirname(pointer), blob), tmp);
    } catch {
      try {
        fs.linkSync(blob, tmp); // symlinks not allowed here
      } catch {
        fs.copyFileSync(blob, tmp); // different volume or no hard links either
      }
    }
    fs.renameSync(tmp, pointer);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** True for a name that is safe as one path segment (a commit hash or an etag from the server). */
export function isSafePathSegment(s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s) && !s.includes("..");
}

/** Whether the cache records that the file is absent at the commit `revision` names (no network access). */
export function isKnownMissing(paths: HubCachePaths, revision: string): boolean {
  const commit = resolveCachedCommit(paths, revision);
  return commit !== undefined && fs.existsSync(paths.noExist(commit));
}

/** Records that the file is absent at `commit` (huggingface_hub's .no_exist marker), so the next look-up asks nothing. */
export function markMissing(paths: HubCachePaths, revision: string, commit: string): void {
  writeRef(paths, revision, commit);
  const marker = paths.noExist(commit);
  fs.mkdirSync(path.dirname(marker), { recursive: true });
  fs.writeFileSync(marker, "");
}
