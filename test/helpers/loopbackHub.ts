/**
 * A Hugging Face hub imitation on 127.0.0.1 (random port) for offline download tests. It answers
 * `{repo}/resolve/{revision}/{file}` the way huggingface.co does:
 *  - LFS files: 302 to a CDN (a second server on another port, so another origin, as cdn-lfs.huggingface.co
 *    is), with X-Repo-Commit, X-Linked-Etag (the sha256), X-Linked-Size; the CDN serves the bytes with
 *    Range support (206 + Content-Range).
 *  - Regular files: 307 to the relative /api/resolve-cache/models/{repo}/{commit}/{file} (with X-Repo-Commit),
 *    which answers 200 with ETag (the git blob sha1), X-Repo-Commit and the bytes.
 *  - Unknown repo: 401 X-Error-Code RepoNotFound; unknown file: 404 EntryNotFound; unknown revision: 404
 *    RevisionNotFound; gated repo without the right token: 403 GatedRepo.
 * `behaviour` makes the servers misbehave as real networks do: cut or stall the connection mid-body,
 * trickle, ignore Range, send wrong bytes, answer a small file with an HTML page (a captive portal),
 * redirect in a loop, answer 500, send a chosen ETag.
 * Every request to either server is logged in `requests`.
 */
import { createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface LoopbackHubFile {
  content: Buffer;
  /** Stored with git LFS: served through the CDN redirect, etag = sha256 (default: true). */
  lfs?: boolean;
}

export interface LoopbackHubBehaviour {
  /** Destroy the socket after this many body bytes of a CDN GET… */
  cutAfterBytes?: number;
  /** …for this many GETs (then serve normally). Default: every GET. */
  cutTimes?: number;
  /** "destroy" (default) drops the connection; "stall" keeps it open and sends nothing more. */
  cutMode?: "destroy" | "stall";
  /** Answer Range requests with 200 and the whole file, as some servers do. */
  ignoreRange?: boolean;
  /** Send bytes that differ from the advertised file (same length). */
  corrupt?: boolean;
  /** The repo is gated: resolve requests need `Authorization: Bearer <requireToken>`. */
  requireToken?: string;
  /** Send every body (CDN and small files) `bytes` at a time, one piece every `everyMs`. */
  trickle?: { bytes: number; everyMs: number };
  /**
   * These small files are answered (HEAD and GET of /api/resolve-cache) with an HTML page, status 200,
   * the real file's git-sha1 as ETag and no Content-Length, as a captive portal or proxy might.
   */
  htmlFor?: string[];
  /** "hub": resolve requests redirect to themselves forever; "cdn": the CDN redirects to itself forever. */
  redirectLoop?: "hub" | "cdn";
  /** Answer this status (e.g. 500) on every resolve request ("hub") or every CDN request ("cdn"). */
  failWith?: { status: number; where: "hub" | "cdn" };
  /** ETag sent for these small files instead of their git-sha1. */
  etags?: Record<string, string>;
}

/** What the captive portal of `htmlFor` answers. */
export const CAPTIVE_PORTAL_HTML = "<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head><body>Log in</body></html>\n";

export interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  status?: number;
}

export interface LoopbackHubOptions {
  repoId: string;
  files: Record<string, LoopbackHubFile>;
  /** 40 hex digits (default: random). */
  commit?: string;
}

export class LoopbackHub {
  readonly requests: LoggedRequest[] = [];
  behaviour: LoopbackHubBehaviour = {};
  readonly commit: string;
  private cutsDone = 0;

  private constructor(
    private readonly server: http.Server,
    private readonly cdnServer: http.Server,
    readonly repoId: string,
    readonly files: Record<string, LoopbackHubFile>,
    commit: string,
  ) {
    this.commit = commit;
  }

  static async start(options: LoopbackHubOptions): Promise<LoopbackHub> {
    const server = http.createServer();
    const cdnServer = http.createServer();
    const commit = options.commit ?? randomBytes(20).toString("hex");
    const hub = new LoopbackHub(server, cdnServer, options.repoId, options.files, commit);
    server.on("request", (req, res) => hub.handle(req, res));
    cdnServer.on("request", (req, res) => hub.handleCdn(req, res));
    for (const s of [server, cdnServer]) await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    return hub;
  }

  /** http://127.0.0.1:<port> — pass as the endpoint option. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Where LFS files redirect to. */
  get cdnUrl(): string {
    return `http://127.0.0.1:${(this.cdnServer.address() as AddressInfo).port}`;
  }

  sha256(file: string): string {
    return createHash("sha256").update(this.files[file].content).digest("hex");
  }

  /** The git blob id, which the hub sends as ETag of files not stored with LFS. */
  gitSha1(file: string): string {
    const content = this.files[file].content;
    return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
  }

  /** Requests that fetched file bytes (not HEAD), in order. */
  get bodyRequests(): LoggedRequest[] {
    return this.requests.filter((r) => r.method === "GET");
  }

  async close(): Promise<void> {
    for (const s of [this.server, this.cdnServer]) {
      s.closeAllConnections(); // fetch keeps connections alive
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  private log(req: http.IncomingMessage, origin: string): { url: URL; entry: LoggedRequest } {
    const url = new URL(req.url ?? "/", origin);
    const entry: LoggedRequest = {
      method: req.method ?? "GET",
      path: decodeURIComponent(url.pathname),
      range: req.headers.range,
      authorization: req.headers.authorization,
    };
    this.requests.push(entry);
    return { url, entry };
  }

  private handleCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { url, entry } = this.log(req, this.cdnUrl);
    const { failWith, redirectLoop } = this.behaviour;
    if (failWith?.where === "cdn") {
      entry.status = failWith.status;
      res.writeHead(failWith.status, { "Content-Type": "text/plain" });
      return void res.end("InternalError");
    }
    if (redirectLoop === "cdn") {
      entry.status = 302;
      res.writeHead(302, { Location: `${url.pathname}${url.search}` });
      return void res.end();
    }
    const sha = /^\/cdn-lfs\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const file = Object.keys(this.files).find((f) => this.isLfs(f) && this.sha256(f) === sha);
    if (file === undefined) {
      entry.status = 404;
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("NoSuchKey");
      return;
    }
    this.serveBytes(req, res, entry, file);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { url, entry } = this.log(req, this.url);
    const send = (status: number, headers: Record<string, string | number>, body?: Buffer) => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(req.method === "HEAD" ? undefined : body);
    };

    const pathname = decodeURIComponent(url.pathname);
    const cachePrefix = `/api/resolve-cache/models/${this.repoId}/${this.commit}/`;
    if (pathname.startsWith(cachePrefix) && pathname.slice(cachePrefix.length) in this.files) {
      const file = pathname.slice(cachePrefix.length);
      const etag = `"${this.behaviour.etags?.[file] ?? this.gitSha1(file)}"`;
      if (this.behaviour.htmlFor?.includes(file)) {
        // Chunked, so no Content-Length: the size cannot be checked, only the ETag.
        entry.status = 200;
        res.writeHead(200, { ETag: etag, "X-Repo-Commit": this.commit, "Content-Type": "text/html", "Transfer-Encoding": "chunked" });
        if (req.method === "HEAD") return void res.end();
        return void this.sendBody(res, Buffer.from(CAPTIVE_PORTAL_HTML), false);
      }
      const content = this.files[file].content;
      entry.status = 200;
      res.writeHead(200, { ETag: etag, "X-Repo-Commit": this.commit, "Content-Length": content.length });
      if (req.method === "HEAD") return void res.end();
      return void this.sendBody(res, content, false);
    }
    const prefix = `/${this.repoId}/resolve/`;
    if (!pathname.startsWith(prefix)) {
      return send(401, { "X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found" }, Buffer.from("{}"));
    }
    const [revision, ...fileParts] = pathname.slice(prefix.length).split("/");
    const file = fileParts.join("/");
    if (revision !== "main" && revision !== this.commit) {
      return send(404, { "X-Error-Code": "RevisionNotFound", "X-Error-Message": `Invalid rev id: ${revision}` });
    }
    if (this.behaviour.failWith?.where === "hub") {
      return send(this.behaviour.failWith.status, { "Content-Type": "text/plain" }, Buffer.from("Internal Error"));
    }
    if (this.behaviour.redirectLoop === "hub") {
      return send(302, { Location: `/${this.repoId}/resolve/${revision}/${file}`, "Content-Length": 0 });
    }
    if (this.behaviour.requireToken && req.headers.authorization !== `Bearer ${this.behaviour.requireToken}`) {
      return send(403, {
        "X-Error-Code": "GatedRepo",
        "X-Error-Message": `Access to model ${this.repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
      });
    }
    if (!(file in this.files)) {
      return send(404, {
        "X-Error-Code": "EntryNotFound",
        "X-Error-Message": "Entry not found",
        "X-Repo-Commit": this.commit,
      });
    }
    if (this.isLfs(file)) {
      const sha = this.sha256(file);
      const disposition = encodeURIComponent(`attachment; filename*=UTF-8''${file}`);
      return send(302, {
        Location: `${this.cdnUrl}/cdn-lfs/${sha}?response-content-disposition=${disposition}`,
        "X-Repo-Commit": this.commit,
        "X-Linked-Etag": `"${sha}"`,
        "X-Linked-Size": this.files[file].content.length,
        ETag: `"${this.gitSha1(file)}"`, // the pointer file's id; X-Linked-Etag wins
        "Content-Length": 0,
      });
    }
    // The hub sends small files through a relative redirect to a cacheable, commit-pinned path.
    const query = `?${encodeURIComponent(pathname)}=&etag=${encodeURIComponent(`"${this.gitSha1(file)}"`)}`;
    return send(307, {
      Location: `/api/resolve-cache/models/${this.repoId}/${this.commit}/${file}${query}`,
      "X-Repo-Commit": this.commit,
      "Content-Length": 0,
    });
  }

  private isLfs(file: string): boolean {
    return this.files[file].lfs ?? true;
  }

  private serveBytes(req: http.IncomingMessage, res: http.ServerResponse, entry: LoggedRequest, file: string): void {
    let content = this.files[file].content;
    if (this.behaviour.corrupt) {
      content = Buffer.from(content);
      content[content.length >> 1] ^= 0xff;
    }
    const size = content.length;
    const headers: Record<string, string | number> = {
      "Accept-Ranges": "bytes",
      ETag: `"${this.sha256(file)}"`,
      "Content-Type": "binary/octet-stream",
    };
    let status = 200;
    let body = content;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range && !this.behaviour.ignoreRange) {
      const start = Number(range[1]);
      if (start >= size) {
        entry.status = 416;
        res.writeHead(416, { "Content-Range": `bytes */${size}` });
        res.end();
        return;
      }
      status = 206;
      body = content.subarray(start);
      headers["Content-Range"] = `bytes ${start}-${size - 1}/${size}`;
    }
    headers["Content-Length"] = body.length;
    entry.status = status;
    res.writeHead(status, headers);
    if (req.method === "HEAD") return void res.end();
    this.sendBody(res, body, true);
  }

  /** Sends `body`, trickled as `behaviour` says, and (CDN bodies only) cut or stalled. */
  private sendBody(res: http.ServerResponse, body: Buffer, cdn: boolean): void {
    const { cutAfterBytes, cutTimes, trickle } = this.behaviour;
    if (cdn && cutAfterBytes !== undefined && this.cutsDone < (cutTimes ?? Infinity) && cutAfterBytes < body.length) {
      this.cutsDone++;
      // Send part of the promised body, then drop the connection as a flaky network would.
      res.write(body.subarray(0, cutAfterBytes), () => {
        if (this.behaviour.cutMode !== "stall") setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    if (trickle) {
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return void clearInterval(timer);
        const piece = body.subarray(sent, sent + trickle.bytes);
        sent += piece.length;
        if (sent >= body.length) {
          clearInterval(timer);
          res.end(piece);
        } else {
          res.write(piece);
        }
      }, trickle.everyMs);
      res.on("close", () => clearInterval(timer));
      return;
    }
    res.end(body);
  }
}
