/**
 * A lock file per download, so that any number of processes sharing one hub cache download each
 * file once and never write into each other's partial file (huggingface_hub takes a file lock per
 * blob for the same reason, in `.locks/<repo folder>/<etag>.lock`, with flock(); the two do not see
 * each other's locks).
 *
 * Node has no flock(), so the lock is a file created with O_EXCL ("wx"): whoever creates it owns it.
 * The owner touches it every few seconds; a lock whose owner is gone — a dead process on this host,
 * or no touch for `staleMs` (a killed process on another host sharing the cache) — is taken over, and
 * the new owner resumes the partial file the old one left.
 */
import * as fs from "node:fs";
import * as os from "node:os";

export interface FileLockOptions {
  /** A lock untouched for this long is stale (default 30 s; the owner touches it every 2 s). */
  staleMs?: number;
  /** How often a waiting process looks again (default 250 ms). */
  pollMs?: number;
  /** Called once when another process holds the lock, and then every few seconds while waiting. */
  onWait?: (owner: LockOwner | undefined, waitedMs: number) => void;
}

/** What the lock file says about its owner. */
export interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

const TOUCH_EVERY_MS = 2000;

/** Runs `fn` while holding `lockPath`, creating and removing it; waits while another process holds it. */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const release = await acquire(lockPath, options);
  try {
    return await fn();
  } finally {
    release();
  }
}

async function acquire(lockPath: string, options: FileLockOptions): Promise<() => void> {
  const staleMs = options.staleMs ?? 30_000;
  const pollMs = options.pollMs ?? 250;
  const started = Date.now();
  let lastNotice = -Infinity;
  for (;;) {
    const owned = tryCreate(lockPath);
    if (owned) return owned;
    const seen = statOrUndefined(lockPath);
    if (seen === undefined) continue; // released between our two calls
    const owner = readOwner(lockPath);
    if (isStale(seen, owner, staleMs)) {
      // Take it over only if it is still the same stale file (not one a third process just made).
      // (An inode number may be reused at once, so the owner it names must be the same too.)
      const again = statOrUndefined(lockPath);
      const sameOwner = JSON.stringify(readOwner(lockPath)) === JSON.stringify(owner);
      if (again !== undefined && again.ino === seen.ino && again.mtimeMs === seen.mtimeMs && sameOwner) fs.rmSync(lockPath, { force: true });
      continue;
    }
    const waited = Date.now() - started;
    if (waited - lastNotice >= 5000) {
      options.onWait?.(owner, waited);
      lastNotice = waited;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Creates the lock file exclusively; returns its release function, or undefined when it exists. */
function tryCreate(lockPath: string): (() => void) | undefined {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw err;
  }
  const me: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  fs.writeSync(fd, JSON.stringify(me));
  fs.closeSync(fd);
  const mine = statOrUndefined(lockPath)?.ino;
  const touch = setInterval(() => {
    const now = new Date();
    try {
      fs.utimesSync(lockPath, now, now);
    } catch {
      // removed as stale by another process after a long pause (e.g. a laptop asleep): nothing to keep alive
    }
  }, TOUCH_EVERY_MS);
  touch.unref();
  return () => {
    clearInterval(touch);
    // Remove only our own file: after a takeover the name may belong to someone else.
    if (statOrUndefined(lockPath)?.ino === mine) fs.rmSync(lockPath, { force: true });
  };
}

function isStale(stat: fs.Stats, owner: LockOwner | undefined, staleMs: number): boolean {
  if (owner && owner.host === os.hostname() && !processAlive(owner.pid)) return true;
  return Date.now() - stat.mtimeMs > staleMs;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by another user
  }
}

function readOwner(lockPath: string): LockOwner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(lockPath, "utf8")) as LockOwner;
    return typeof o?.pid === "number" ? o : undefined;
  } catch {
    return undefined; // being written right now, or not ours
  }
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}
