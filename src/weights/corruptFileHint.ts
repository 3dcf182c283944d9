/**
 * What to say about a file that was loaded but cannot be read as it should (a config that is not
 * JSON): which file it really is and what to do. A file in the Hugging Face hub cache is a snapshot
 * link to a blob; deleting the blob makes the next load download it again.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * A sentence (with a leading space) for the end of an error about `file`: for a hub-cache file, to
 * delete its blob and load again; for a file of the user's own, to fix or replace it. Also says when
 * the file is an HTML page (a proxy or captive portal answered instead of the hub).
 */
export function corruptFileHint(file: string): string {
  let real = file;
  try {
    real = fs.realpathSync(file);
  } catch {
    // dangling or unreadable: name the path as given
  }
  const html = startsLikeHtml(real) ? " It is an HTML page (a proxy, captive portal or login page answered instead of the hub)." : "";
  const parts = path.resolve(file).split(path.sep);
  const inHubCache = parts.includes("snapshots") && parts.some((p) => p.startsWith("models--") || p.startsWith("datasets--"));
  if (!inHubCache) return `${html} Fix or replace the file.`;
  return `${html} It is in the Hugging Face hub cache and was damaged or replaced after it was downloaded: delete ${real} and load again to download it afresh.`;
}

function startsLikeHtml(file: string): boolean {
  try {
    const fd = fs.openSync(file, "r");
    try {
      const head = Buffer.alloc(256);
      const n = fs.readSync(fd, head, 0, head.length, 0);
      return /^\s*<(!doctype html|html|head|body)/i.test(head.subarray(0, n).toString("utf8"));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}
