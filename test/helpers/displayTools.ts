/**
 * External tools the display tests drive: Debian's Chromium (through playwright-core, never a
 * downloaded browser) and Debian's Python with nbclient. Each probe returns why a tool is missing,
 * so a test can skip with a message that says what to install.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Why Chromium cannot be used, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  return fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (Debian: apt-get install chromium)`;
}

/** Why Debian's Python cannot run notebooks, or undefined when it can. */
export function nbclientMissing(): string | undefined {
  if (!fs.existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found`;
  const probe = spawnSync(SYSTEM_PYTHON, ["-c", "import nbclient, nbformat"], { encoding: "utf8" });
  return probe.status === 0
    ? undefined
    : `${SYSTEM_PYTHON} cannot import nbclient/nbformat (Debian: apt-get install python3-nbclient python3-nbformat jupyter-client)`;
}

/**
 * Headless Chromium with a fresh profile (playwright's launch() always makes a temporary one) and
 * no background networking, so any request a page makes is the page's own.
 */
export async function launchChromium(): Promise<Browser> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { chromium } = require("playwright-core") as typeof import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface PageWatch {
  /** Console errors and uncaught page errors. */
  errors: string[];
  /** Requests for anything but file: and data: URLs (each is aborted). */
  network: string[];
}

/** Records console errors and blocks (and records) every request that would leave the machine. */
export async function watchPage(page: Page): Promise<PageWatch> {
  const watch: PageWatch = { errors: [], network: [] };
  page.on("console", (msg) => {
    if (msg.type() === "error") watch.errors.push(`console.error: ${msg.text()}`);
  });
  page.on("pageerror", (err) => watch.errors.push(`page error: ${err.message}`));
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
    watch.network.push(url);
    return route.abort();
  });
  return watch;
}
