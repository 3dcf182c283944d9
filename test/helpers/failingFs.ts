/**
 * Test-only: makes writes under one folder fail as a full or read-only disk would, without root and
 * without a special file system. It patches node:fs itself (the real module object, which the
 * library's `import * as fs` reads through), so the library's own code paths meet the error; the
 * returned function restores everything.
 *
 *  - "ENOSPC": writes into files under `folder` fail once `afterBytes` bytes went into them (the
 *    folder can still be created and files opened, as on a full disk with a little space left).
 *  - "EACCES" / "EROFS": creating folders or files, or opening files for writing, under `folder` fails.
 */
import fs = require("node:fs");
import * as path from "node:path";

type Code = "ENOSPC" | "EACCES" | "EROFS";

function errno(code: Code, syscall: string, p: string): NodeJS.ErrnoException {
  const text = { ENOSPC: "no space left on device", EACCES: "permission denied", EROFS: "read-only file system" }[code];
  const err: NodeJS.ErrnoException = new Error(`${code}: ${text}, ${syscall} '${p}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = p;
  return err;
}

/** Patches node:fs so writes under `folder` fail with `code`; returns the function that undoes it. */
export function failWritesUnder(folder: string, code: Code, options: { afterBytes?: number } = {}): () => void {
  const root = path.resolve(folder);
  const inside = (p: fs.PathLike | fs.promises.FileHandle | number) =>
    typeof p === "string" && (path.resolve(p) === root || path.resolve(p).startsWith(root + path.sep));
  const writing = (flags: unknown) => typeof flags === "string" && /[wa+]/.test(flags);
  const saved = {
    mkdirSync: fs.mkdirSync,
    openSync: fs.openSync,
    writeFileSync: fs.writeFileSync,
    symlinkSync: fs.symlinkSync,
    promisesOpen: fs.promises.open,
  };
  const patch = fs as unknown as Record<string, unknown>;

  if (code !== "ENOSPC") {
    patch.mkdirSync = (p: fs.PathLike, ...rest: unknown[]) => {
      // Only folders that do not exist yet fail: an existing one is fine, as on a real read-only disk.
      if (inside(p) && !fs.existsSync(p)) throw errno(code, "mkdir", String(p));
      return (saved.mkdirSync as (...a: unknown[]) => unknown)(p, ...rest);
    };
    patch.openSync = (p: fs.PathLike, flags?: unknown, ...rest: unknown[]) => {
      if (inside(p) && writing(flags)) throw errno(code, "open", String(p));
      return (saved.openSync as (...a: unknown[]) => unknown)(p, flags, ...rest);
    };
    patch.writeFileSync = (p: fs.PathLike, ...rest: unknown[]) => {
      if (inside(p)) throw errno(code, "open", String(p));
      return (saved.writeFileSync as (...a: unknown[]) => unknown)(p, ...rest);
    };
    patch.symlinkSync = (target: fs.PathLike, p: fs.PathLike, ...rest: unknown[]) => {
      if (inside(p)) throw errno(code, "symlink", String(p));
      return (saved.symlinkSync as (...a: unknown[]) => unknown)(target, p, ...rest);
    };
  }
  (fs.promises as unknown as Record<string, unknown>).open = async (p: fs.PathLike, flags?: unknown, ...rest: unknown[]) => {
    if (code !== "ENOSPC" && inside(p) && writing(flags)) throw errno(code, "open", String(p));
    const handle = await (saved.promisesOpen as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(p, flags, ...rest);
    if (code === "ENOSPC" && inside(p) && writing(flags)) {
      let written = 0;
      const write = handle.write.bind(handle) as (...a: unknown[]) => Promise<{ bytesWritten: number }>;
      (handle as unknown as Record<string, unknown>).write = async (data: Uint8Array, ...more: unknown[]) => {
        if (written + data.byteLength > (options.afterBytes ?? 0)) throw errno("ENOSPC", "write", String(p));
        written += data.byteLength;
        return write(data, ...more);
      };
    }
    return handle;
  };
  return () => {
    Object.assign(patch, { mkdirSync: saved.mkdirSync, openSync: saved.openSync, writeFileSync: saved.writeFileSync, symlinkSync: saved.symlinkSync });
    (fs.promises as unknown as Record<string, unknown>).open = saved.promisesOpen;
  };
}
