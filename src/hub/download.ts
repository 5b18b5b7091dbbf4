// hf_hub_download in TypeScript: a file of a hub repository, from the cache when it is there,
// else downloaded with the hub's protocol and written into the cache as huggingface_hub does, so
// Python and this library share one cache. (@huggingface/hub's downloadFileToCacheDir files a
// download under the file's last commit and writes no refs/, which Python's lookup does not follow.)
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { COMMIT_HASH, defaultToken, endpoint, hubCacheDir, isOffline, type RepoType } from "./constants.js";
import { listCachedFiles, storageFolder, tryLoadFromCache } from "./cache.js";
import { writeFileAtomic } from "./files.js";
import { EntryNotFoundError, HubError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError } from "./errors.js";

export interface HubOptions {
  repoType?: RepoType;
  revision?: string;
  cacheDir?: string;
  /** A token, or false for none; default HF_TOKEN or the saved login token. */
  token?: string | false;
  localFilesOnly?: boolean;
  forceDownload?: boolean;
  endpoint?: string;
}

function tokenFor(o: HubOptions): string | undefined {
  if (o.token === false) return undefined;
  return o.token ?? defaultToken((p) => (existsSync(p) ? readFileSync(p, "utf8") : null));
}

function repoUrlPart(repoId: string, repoType: RepoType): string {
  return repoType === "dataset" ? `datasets/${repoId}` : repoId;
}

export function hubUrl(repoId: string, filename: string, o: HubOptions = {}): string {
  const rev = encodeURIComponent(o.revision ?? "main");
  const file = filename.split("/").map(encodeURIComponent).join("/");
  return `${o.endpoint ?? endpoint()}/${repoUrlPart(repoId, o.repoType ?? "model")}/resolve/${rev}/${file}`;
}

function checkRepoId(repoId: string): void {
  if (typeof repoId !== "string" || !/^[\w.-]+(\/[\w.-]+)?$/.test(repoId) || repoId.includes("..") || repoId.includes("--")) {
    throw new TypeError(`repo id must be 'name' or 'namespace/name' (letters, digits, '-', '_', '.'), got ${JSON.stringify(repoId)}`);
  }
}

function checkFilename(filename: string): void {
  if (typeof filename !== "string" || filename === "" || filename.startsWith("/") || filename.split("/").includes("..")) {
    throw new TypeError(`filename must be a relative path inside the repository, got ${JSON.stringify(filename)}`);
  }
}

function normalizeEtag(etag: string | null): string | null {
  return etag ? etag.replace(/^W\//, "").replace(/^"|"$/g, "") : null;
}

async function request(url: string, method: "HEAD" | "GET", token: string | undefined, followRelativeOnly: boolean): Promise<Response> {
  const headers: Record<string, string> = { "user-agent": "finetune-ts; hf_hub" };
  if (token) headers.authorization = `Bearer ${token}`;
  let current = url;
  for (let hop = 0; hop < 10; hop++) {
    const r = await fetch(current, { method, headers, redirect: "manual" });
    if (r.status < 300 || r.status > 399) return r;
    const location = r.headers.get("location");
    if (!location) return r;
    const next = new URL(location, current);
    // A redirect on the same host is a renamed repo: follow it. Another host is a CDN for LFS
    // files: the metadata (HEAD) stops there, as huggingface_hub does.
    if (followRelativeOnly && next.host !== new URL(current).host) return r;
    if (next.host !== new URL(url).host) delete headers.authorization;
    current = next.toString();
  }
  throw new HubError(`too many redirects for ${url}`);
}

function raiseFor(r: Response, repoId: string, filename: string, o: HubOptions): never {
  const code = r.headers.get("x-error-code");
  const where = `${repoId}${o.repoType === "dataset" ? " (dataset)" : ""} at revision '${o.revision ?? "main"}'`;
  if (code === "RepoNotFound" || r.status === 401) {
    throw new RepositoryNotFoundError(`${r.status}: repository not found or not accessible: ${where}. If it is private or gated, set HF_TOKEN.`);
  }
  if (code === "RevisionNotFound") throw new RevisionNotFoundError(`${r.status}: revision not found: ${where}`);
  if (code === "EntryNotFound" || r.status === 404) throw new EntryNotFoundError(`${r.status}: ${filename} does not exist in ${where}`);
  throw new HubError(`${r.status} ${r.statusText} for ${filename} in ${where}`);
}

/**
 * The local path of `filename` in a hub repository: the cached copy when offline (HF_HUB_OFFLINE)
 * or localFilesOnly, else after checking the hub for the revision's current commit. Throws
 * EntryNotFoundError when the hub has no such file, LocalEntryNotFoundError when offline and not
 * cached (the message says where it looked).
 */
export async function hfHubDownload(repoId: string, filename: string, o: HubOptions = {}): Promise<string> {
  checkRepoId(repoId);
  checkFilename(filename);
  const repoType = o.repoType ?? "model";
  const revision = o.revision ?? "main";
  const cacheDir = o.cacheDir ?? hubCacheDir();
  const folder = storageFolder(cacheDir, repoId, repoType);
  const cached = () => tryLoadFromCache(folder, filename, revision);
  const notCached = (why: string) =>
    new LocalEntryNotFoundError(
      `${filename} of ${repoType} ${repoId} (revision '${revision}') is not in the cache and ${why}. Looked in ${join(folder, "snapshots")} (HF_HUB_CACHE=${cacheDir}).`,
    );

  if (o.localFilesOnly || isOffline()) {
    const c = cached();
    if (c && "path" in c) return c.path;
    if (c && "noExist" in c) throw new EntryNotFoundError(`${filename} does not exist in ${repoId} (cached answer from the hub)`);
    throw notCached(o.localFilesOnly ? "localFilesOnly is set" : "HF_HUB_OFFLINE is set");
  }

  const token = tokenFor(o);
  const url = hubUrl(repoId, filename, { ...o, revision, repoType });
  let head: Response;
  try {
    head = await request(url, "HEAD", token, true);
  } catch (e) {
    // No network: fall back to the cache, as huggingface_hub does.
    const c = cached();
    if (c && "path" in c) return c.path;
    throw notCached(`the hub could not be reached (${(e as Error).message})`);
  }
  const commit = head.headers.get("x-repo-commit");
  if (head.status >= 400) {
    if (head.status === 404 && head.headers.get("x-error-code") === "EntryNotFound" && commit) {
      const marker = join(folder, ".no_exist", commit, filename);
      mkdirSync(dirname(marker), { recursive: true });
      writeFileSync(marker, "");
      writeRef(folder, revision, commit);
    }
    raiseFor(head, repoId, filename, o);
  }
  const etag = normalizeEtag(head.headers.get("x-linked-etag") ?? head.headers.get("etag"));
  if (!commit || !etag) {
    throw new HubError(`the hub's answer for ${url} lacks the X-Repo-Commit or ETag header; is HF_ENDPOINT (${o.endpoint ?? endpoint()}) a Hugging Face hub?`);
  }
  writeRef(folder, revision, commit);
  const pointer = join(folder, "snapshots", commit, filename);
  const blob = join(folder, "blobs", etag);
  if (!o.forceDownload && existsSync(pointer)) return pointer;
  if (o.forceDownload || !existsSync(blob)) {
    const location = head.headers.get("location");
    const target = head.status >= 300 && location ? new URL(location, url).toString() : url;
    await downloadTo(target, blob, target === url ? token : undefined, Number(head.headers.get("x-linked-size") ?? head.headers.get("content-length") ?? NaN));
  }
  mkdirSync(dirname(pointer), { recursive: true });
  rmSync(pointer, { force: true });
  try {
    symlinkSync(relative(dirname(pointer), blob), pointer);
  } catch {
    writeFileSync(pointer, readFileSync(blob)); // file systems without symlinks get a copy, as in huggingface_hub
  }
  return pointer;
}

function writeRef(folder: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const ref = join(folder, "refs", revision);
  if (existsSync(ref) && readFileSync(ref, "utf8").trim() === commit) return;
  mkdirSync(dirname(ref), { recursive: true });
  writeFileAtomic(ref, commit);
}

async function downloadTo(url: string, blob: string, token: string | undefined, expectedSize: number): Promise<void> {
  const r = await request(url, "GET", token, false);
  if (!r.ok || !r.body) throw new HubError(`${r.status} ${r.statusText} while downloading ${url}`);
  mkdirSync(dirname(blob), { recursive: true });
  const incomplete = `${blob}.incomplete`;
  try {
    await pipeline(Readable.fromWeb(r.body as import("node:stream/web").ReadableStream), createWriteStream(incomplete));
    const size = statSync(incomplete).size;
    if (Number.isFinite(expectedSize) && size !== expectedSize) {
      throw new HubError(`download of ${url} ended at ${size} bytes, expected ${expectedSize}`);
    }
    renameSync(incomplete, blob);
  } catch (e) {
    rmSync(incomplete, { force: true });
    throw e;
  }
}

/** The files of a repository at a revision: from the hub's API, or from the cached snapshot offline. */
export async function listRepoFiles(repoId: string, o: HubOptions = {}): Promise<string[]> {
  checkRepoId(repoId);
  const repoType = o.repoType ?? "model";
  const revision = o.revision ?? "main";
  const folder = storageFolder(o.cacheDir ?? hubCacheDir(), repoId, repoType);
  if (o.localFilesOnly || isOffline()) {
    const files = listCachedFiles(folder, revision);
    if (files) return files;
    throw new LocalEntryNotFoundError(`${repoType} ${repoId} (revision '${revision}') is not in the cache (looked in ${folder}) and HF_HUB_OFFLINE is set`);
  }
  const url = `${o.endpoint ?? endpoint()}/api/${repoType}s/${repoId}/revision/${encodeURIComponent(revision)}`;
  let r: Response;
  try {
    r = await request(url, "GET", tokenFor(o), false);
  } catch (e) {
    const files = listCachedFiles(folder, revision);
    if (files) return files;
    throw new LocalEntryNotFoundError(`${repoType} ${repoId} could not be listed (${(e as Error).message}) and is not in the cache (looked in ${folder})`);
  }
  if (!r.ok) raiseFor(r, repoId, "(file list)", o);
  const info = (await r.json()) as { sha?: string; siblings?: { rfilename: string }[] };
  if (!Array.isArray(info.siblings)) throw new HubError(`unexpected answer from ${url}: no 'siblings'`);
  if (info.sha && COMMIT_HASH.test(info.sha)) writeRef(folder, revision, info.sha);
  return info.siblings.map((s) => s.rfilename).sort();
}
