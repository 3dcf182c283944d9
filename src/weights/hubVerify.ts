/**
 * Checks a downloaded file before it gets its final name: its size, its sha256 (LFS etag) or git blob
 * sha1 (small files' ETag), and that a .json file parses. A file that fails is deleted.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { HubDownloadError, displayUrl } from "./hubErrors";
import type { HubFileMetadata } from "./hubMetadata";
import type { RequestContext } from "./hubRequest";

export async function verify(incomplete: string, meta: HubFileMetadata, ctx: RequestContext): Promise<void> {
  const reject = (what: string): never => {
    // A web page instead of the file: calling again gets the same page until the network lets the hub through.
    const html = looksLikeHtml(incomplete);
    fs.rmSync(incomplete, { force: true });
    const todo = html
      ? "; it is an HTML page: a proxy, captive portal or login page answered instead of the hub. Nothing was stored. Sign in to the network or fix the proxy, then call again."
      : ". The bad data was deleted; call again to download afresh.";
    throw new HubDownloadError(`Downloaded file from ${displayUrl(meta.location)} ${what}${todo}`, "integrity", meta.location);
  };
  const size = fileSize(incomplete);
  if (meta.size !== undefined && size !== meta.size) reject(`has ${size} bytes, expected ${meta.size} (X-Linked-Size/Content-Length)`);
  if (/^[0-9a-f]{64}$/.test(meta.etag)) {
    const actual = await hashFile(incomplete, "sha256");
    if (actual !== meta.etag) reject(`is corrupt: sha256 ${actual}, expected ${meta.etag} (the hub's LFS etag)`);
  } else if (/^[0-9a-f]{40}$/.test(meta.etag)) {
    // A small (non-LFS) file's ETag is its git blob id: sha1 of "blob <size>\0" and the bytes.
    const actual = await hashFile(incomplete, "sha1", `blob ${size}\0`);
    if (actual !== meta.etag) reject(`is not the file the hub describes: its git-sha1 is ${actual}, the ETag says ${meta.etag}`);
  }
  if (ctx.filename.endsWith(".json")) {
    try {
      JSON.parse(fs.readFileSync(incomplete, "utf8"));
    } catch (err) {
      reject(`should be JSON but is not (${(err as Error).message})`);
    }
  }
}

/** Whether a file starts like a web page (what captive portals and proxies send). */
export function looksLikeHtml(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(256);
    const n = fs.readSync(fd, head, 0, 256, 0);
    return /^\s*<(!doctype html|html|head|body)/i.test(head.subarray(0, n).toString("utf8"));
  } finally {
    fs.closeSync(fd);
  }
}

export async function hashFile(file: string, algorithm: "sha256" | "sha1", prefix = ""): Promise<string> {
  const hash = createHash(algorithm);
  hash.update(prefix);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
