/**
 * The errors of a hub download: HubDownloadError (with a HubErrorCode callers can react to), the
 * retryable TransientError, and the messages for HTTP answers and file-system failures, each saying
 * what happened and what to do.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RequestContext } from "./hubRequest";

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
export const MODEL_LOCAL_DIR_HINT =
  "set MODEL_OVERRIDE_DIR to a local directory holding config.json and model.safetensors " +
  "(or pass that directory instead of the model name).";

/** Network trouble worth retrying (cut connection, timeout, 5xx); everything else is thrown at once. */
export class TransientError extends Error {
  /** @param status the HTTP status when the server answered (5xx, 429), else undefined (no answer). */
  constructor(message: string, cause?: unknown, readonly status?: number) {
    super(message, { cause });
  }
}

/** The error for a non-success answer, with the hub's X-Error-Code/X-Error-Message and what to do. */
export function httpError(ctx: RequestContext, res: Response, target: string): HubDownloadError {
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
export function diskError(err: unknown, cacheDir: string, ctx: RequestContext, needed: number | undefined): HubDownloadError | undefined {
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

export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/** A URL for messages: signed CDN links carry long, private query strings. */
export function displayUrl(url: string): string {
  const u = new URL(url);
  return u.search ? `${u.origin}${u.pathname}?…` : url;
}

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof TransientError) return err.message; // already lists its causes
  const causes: string[] = [];
  for (let e: unknown = err.cause, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    causes.push(typeof code === "string" ? `${code}: ${e.message}` : e.message);
  }
  return causes.length > 0 ? `${err.message} (${causes.join("; ")})` : err.message;
}
