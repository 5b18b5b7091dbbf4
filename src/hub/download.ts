// hf_hub_download in TypeScript: a file of a hub repository, from the cache when it is there,
// else downloaded with the hub's protocol and written into the cache as huggingface_hub does, so
// Python and this library share one cache. (@huggingface/hub's downloadFileToCacheDir files a
// download under the file's last commit and writes no refs/, which Python's lookup does not follow.)
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { COMMIT_HASH, defaultToken, downloadTimeoutMs, endpoint, etagTimeoutMs, hubCacheDir, isOffline, type RepoType } from "./constants.js";
import { listCachedFiles, repoFolderName, storageFolder, tryLoadFromCache } from "./cache.js";
import { writeFileAtomic } from "../util/files.js";
import { lock } from "../util/file_lock.js";
import { EntryNotFoundError, HubError, HubUnreachableError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError } from "./errors.js";

export interface HubOptions {
  repoType?: RepoType;
  revision?: string;
  cacheDir?: string;
  /** A token, or false for none; default HF_TOKEN or the saved login token. */
  token?: string | false;
  localFilesOnly?: boolean;
  forceDownload?: boolean;
  endpoint?: string;
  /** The load this request belongs to: once the hub did not answer, its other files come from the cache at once. */
  session?: HubSession;
}

/**
 * One load (a fromPretrained, a loadDataset) of several files. huggingface_hub waits out the timeout
 * for each file when the hub hangs; here the first unreachable answer is remembered, and the load's
 * other files are taken from the cache at once (or fail at once when not cached).
 */
export class HubSession {
  /** Why the hub was found unreachable in this load, or null while it answers. */
  unreachable: string | null = null;
  /** The session in o, or a new one: what an entry point (fromPretrained, loadDataset) starts with. */
  static in<T extends HubOptions>(o: T): T & { session: HubSession } {
    return { ...o, session: o.session ?? new HubSession() };
  }
}

/** Whether the error says the hub did not answer (not that it answered no). */
function isUnreachable(e: unknown): boolean {
  return e instanceof HubUnreachableError || (e instanceof HubError && !(e instanceof RepositoryNotFoundError) && (e.status === undefined || e.status >= 500));
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

/** A relative path that stays inside the folder it is joined to: no '..', '.', empty or absolute parts. */
export function isSafeRelativePath(p: unknown): p is string {
  return (
    typeof p === "string" &&
    p !== "" &&
    !p.startsWith("/") &&
    !p.includes("\\") &&
    !p.includes("\0") &&
    p.split("/").every((part) => part !== "" && part !== "." && part !== "..")
  );
}

function checkFilename(filename: string): void {
  if (!isSafeRelativePath(filename)) throw new TypeError(`filename must be a relative path inside the repository, got ${JSON.stringify(filename)}`);
}

function checkRevision(revision: string): void {
  if (!isSafeRelativePath(revision)) throw new TypeError(`revision must be a branch, tag or commit name, got ${JSON.stringify(revision)}`);
}

// What the server names becomes part of a cache path: only the forms the hub uses are accepted,
// so a hostile or broken server cannot make us write outside the cache.
const ETAG = /^[0-9a-f]{32,128}$/i;

function normalizeEtag(etag: string | null): string | null {
  return etag ? etag.replace(/^W\//, "").replace(/^"|"$/g, "") : null;
}

function checkServerNames(url: string, commit: string, etag?: string): void {
  if (!COMMIT_HASH.test(commit))
    throw new HubError(
      `the hub's answer for ${url} has an invalid X-Repo-Commit ${JSON.stringify(commit.slice(0, 80))} (expected 40 hex digits); nothing was written`,
    );
  if (etag !== undefined && !ETAG.test(etag))
    throw new HubError(`the hub's answer for ${url} has an invalid ETag ${JSON.stringify(etag.slice(0, 80))} (expected a hex digest); nothing was written`);
}

/** `child` joined under `root`, or an error: the last guard before anything touches the disk. */
function inside(root: string, ...parts: string[]): string {
  const p = resolve(root, ...parts);
  if (!p.startsWith(resolve(root) + sep)) throw new HubError(`refusing a cache path outside ${root}: ${p}`);
  return p;
}

function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message;
}

/** fetch, aborted when no answer comes within timeoutMs; the controller also bounds the body's reads. */
async function fetchWithin(url: string, init: RequestInit, timeoutMs: number): Promise<{ response: Response; controller: AbortController }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new HubUnreachableError(`no answer from ${new URL(url).host} within ${timeoutMs / 1000} s`)), timeoutMs);
  try {
    return { response: await fetch(url, { ...init, signal: controller.signal }), controller };
  } catch (e) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw new HubUnreachableError(`${new URL(url).host} could not be reached: ${describeFetchError(e)}`);
  } finally {
    clearTimeout(timer);
  }
}

async function request(
  url: string,
  method: "HEAD" | "GET",
  token: string | undefined,
  followRelativeOnly: boolean,
  timeoutMs: number,
): Promise<{ response: Response; controller: AbortController }> {
  const headers: Record<string, string> = { "user-agent": "finetune-ts; hf_hub" };
  if (token) headers.authorization = `Bearer ${token}`;
  let current = url;
  for (let hop = 0; hop < 10; hop++) {
    const answer = await fetchWithin(current, { method, headers, redirect: "manual" }, timeoutMs);
    const r = answer.response;
    if (r.status < 300 || r.status > 399) return answer;
    const location = r.headers.get("location");
    if (!location) return answer;
    const next = new URL(location, current);
    // A redirect on the same host is a renamed repo: follow it. Another host is a CDN for LFS
    // files: the metadata (HEAD) stops there, as huggingface_hub does.
    if (followRelativeOnly && next.host !== new URL(current).host) return answer;
    await r.body?.cancel();
    if (next.host !== new URL(url).host) delete headers.authorization;
    current = next.toString();
  }
  throw new HubError(`too many redirects for ${url}`);
}

function raiseFor(r: Response, repoId: string, filename: string, o: HubOptions): never {
  const code = r.headers.get("x-error-code");
  const where = `${repoId}${o.repoType === "dataset" ? " (dataset)" : ""} at revision '${o.revision ?? "main"}'`;
  if (code === "RepoNotFound" || r.status === 401) {
    throw new RepositoryNotFoundError(`${r.status}: repository not found or not accessible: ${where}. If it is private or gated, set HF_TOKEN.`, r.status);
  }
  if (code === "RevisionNotFound") throw new RevisionNotFoundError(`${r.status}: revision not found: ${where}`, r.status);
  if (code === "EntryNotFound" || r.status === 404) throw new EntryNotFoundError(`${r.status}: ${filename} does not exist in ${where}`, r.status);
  throw new HubError(`${r.status} ${r.statusText} for ${filename} in ${where}`, r.status);
}

/**
 * Failures after which huggingface_hub falls back to the cached revision: no answer (connection
 * refused, timeout), the hub down (5xx), access refused or a repository it cannot see, an answer
 * without the hub's headers. A missing file or revision is an answer, and is raised.
 */
function cacheMayAnswer(e: unknown): boolean {
  if (e instanceof EntryNotFoundError || e instanceof RevisionNotFoundError) return false;
  return (
    e instanceof HubUnreachableError ||
    e instanceof RepositoryNotFoundError ||
    (e instanceof HubError && (e.status === undefined || e.status >= 500 || e.status === 403))
  );
}

interface FileMetadata {
  commit: string;
  etag: string;
  size: number;
  /** Where the bytes are: the resolve URL, or a CDN it redirects to. */
  location: string;
}

/** The HEAD call of huggingface_hub's get_hf_file_metadata, with a missing file remembered in .no_exist. */
async function fileMetadata(
  url: string,
  token: string | undefined,
  repoId: string,
  filename: string,
  o: HubOptions,
  folder: string,
  revision: string,
): Promise<FileMetadata> {
  const { response: head } = await request(url, "HEAD", token, true, etagTimeoutMs());
  const commit = head.headers.get("x-repo-commit");
  if (head.status >= 400) {
    if (head.status === 404 && head.headers.get("x-error-code") === "EntryNotFound" && commit) {
      checkServerNames(url, commit);
      const marker = inside(folder, ".no_exist", commit, filename);
      mkdirSync(dirname(marker), { recursive: true });
      writeFileSync(marker, "");
      writeRef(folder, revision, commit);
    }
    raiseFor(head, repoId, filename, o);
  }
  const etag = normalizeEtag(head.headers.get("x-linked-etag") ?? head.headers.get("etag"));
  const size = Number(head.headers.get("x-linked-size") ?? head.headers.get("content-length") ?? NaN);
  if (!commit || !etag) {
    throw new HubError(`the hub's answer for ${url} lacks the X-Repo-Commit or ETag header; is HF_ENDPOINT (${o.endpoint ?? endpoint()}) a Hugging Face hub?`);
  }
  checkServerNames(url, commit, etag);
  if (!Number.isSafeInteger(size) || size < 0) throw new HubError(`the hub's answer for ${url} does not say the file's size (Content-Length)`);
  const location = head.headers.get("location");
  return { commit, etag, size, location: head.status >= 300 && location ? new URL(location, url).toString() : url };
}

/**
 * The local path of `filename` in a hub repository: the cached copy when offline (HF_HUB_OFFLINE)
 * or localFilesOnly, else after checking the hub for the revision's current commit. When the hub
 * cannot answer (unreachable, timing out, down) the cached copy of the revision is used, with a
 * warning, as huggingface_hub does. Throws EntryNotFoundError when the hub has no such file,
 * LocalEntryNotFoundError when the hub cannot answer and the file is not cached (the message says
 * where it looked).
 */
export async function hfHubDownload(repoId: string, filename: string, o: HubOptions = {}): Promise<string> {
  checkRepoId(repoId);
  checkFilename(filename);
  const repoType = o.repoType ?? "model";
  const revision = o.revision ?? "main";
  checkRevision(revision);
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

  if (o.session?.unreachable) {
    // Earlier in this load the hub did not answer: no second wait for it.
    const c = o.forceDownload ? null : cached();
    if (c && "path" in c) return c.path;
    throw notCached(`the hub could not be reached earlier in this load (${o.session.unreachable})`);
  }
  const token = tokenFor(o);
  const url = hubUrl(repoId, filename, { ...o, revision, repoType });
  let meta: FileMetadata;
  try {
    meta = await fileMetadata(url, token, repoId, filename, o, folder, revision);
  } catch (e) {
    if (!cacheMayAnswer(e)) throw e;
    if (o.session && isUnreachable(e)) o.session.unreachable ??= (e as Error).message;
    const c = o.forceDownload ? null : cached();
    if (c && "path" in c) {
      warn(`Could not check the hub for a newer ${filename} of ${repoId} (${(e as Error).message}); using the cached copy of revision '${revision}'.`);
      return c.path;
    }
    if (e instanceof RepositoryNotFoundError) throw e;
    throw notCached(`the hub could not be reached (${(e as Error).message})`);
  }
  writeRef(folder, revision, meta.commit);
  const pointer = inside(folder, "snapshots", meta.commit, filename);
  const blob = inside(folder, "blobs", meta.etag);
  if (!o.forceDownload && existsSync(pointer)) return pointer;
  if (o.forceDownload || !existsSync(blob)) {
    // One download of a blob at a time, across processes (huggingface_hub's .locks/ files).
    const lockFile = inside(cacheDir, ".locks", repoFolderName(repoId, repoType), `${meta.etag}.lock`);
    mkdirSync(dirname(lockFile), { recursive: true });
    const held = await lock(lockFile, {
      warn,
      onWait: (h) => warn(`Waiting for ${h ? `process ${h.pid} on ${h.host}` : "another process"} to finish downloading ${filename} of ${repoId}…`),
    });
    try {
      if (o.forceDownload || !existsSync(blob)) {
        await downloadTo(meta.location, blob, meta.location === url ? token : undefined, meta.size);
      }
    } finally {
      held.release();
    }
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

function warn(message: string): void {
  console.warn(message);
}

function writeRef(folder: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const ref = inside(folder, "refs", revision);
  if (existsSync(ref) && readFileSync(ref, "utf8").trim() === commit) return;
  mkdirSync(dirname(ref), { recursive: true });
  writeFileAtomic(ref, commit);
}

/**
 * The body into `blob`, through `blob.incomplete`: committed only when every announced byte came.
 * Each read waits at most HF_HUB_DOWNLOAD_TIMEOUT; a body cut short or too long is discarded.
 */
async function downloadTo(url: string, blob: string, token: string | undefined, expectedSize: number): Promise<void> {
  const timeoutMs = downloadTimeoutMs();
  const { response: r, controller } = await request(url, "GET", token, false, timeoutMs);
  if (!r.ok || !r.body) throw new HubError(`${r.status} ${r.statusText} while downloading ${url}`, r.status);
  mkdirSync(dirname(blob), { recursive: true });
  const incomplete = `${blob}.incomplete`;
  const reader = r.body.getReader();
  let size = 0;
  let fd: number | null = null;
  try {
    fd = openSync(incomplete, "w");
    for (;;) {
      const timer = setTimeout(
        () => controller.abort(new HubUnreachableError(`the download of ${url} stalled: no bytes for ${timeoutMs / 1000} s after ${size} of ${expectedSize}`)),
        timeoutMs,
      );
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throw controller.signal.aborted
          ? controller.signal.reason
          : new HubUnreachableError(`the download of ${url} broke off after ${size} of ${expectedSize} bytes (${describeFetchError(e)})`);
      } finally {
        clearTimeout(timer);
      }
      if (chunk.done) break;
      size += chunk.value.length;
      if (size > expectedSize) throw new HubError(`the download of ${url} sent more than the announced ${expectedSize} bytes`);
      writeAll(fd, chunk.value, incomplete);
    }
    if (size !== expectedSize) throw new HubError(`the download of ${url} ended at ${size} bytes, expected ${expectedSize}`);
    closeSync(fd);
    fd = null;
    renameSync(incomplete, blob);
  } catch (e) {
    controller.abort();
    if (fd !== null) closeSync(fd);
    rmSync(incomplete, { force: true });
    throw e;
  }
}

function writeAll(fd: number, bytes: Uint8Array, path: string): void {
  for (let off = 0; off < bytes.length;) {
    try {
      off += writeSync(fd, bytes, off);
    } catch (e) {
      throw new Error(`cannot write ${path}: ${(e as Error).message}`);
    }
  }
}

/** The files of a repository at a revision: from the hub's API, or from the cached snapshot offline. */
export async function listRepoFiles(repoId: string, o: HubOptions = {}): Promise<string[]> {
  checkRepoId(repoId);
  const repoType = o.repoType ?? "model";
  const revision = o.revision ?? "main";
  checkRevision(revision);
  const folder = storageFolder(o.cacheDir ?? hubCacheDir(), repoId, repoType);
  if (o.localFilesOnly || isOffline()) {
    const files = listCachedFiles(folder, revision);
    if (files) return files;
    throw new LocalEntryNotFoundError(`${repoType} ${repoId} (revision '${revision}') is not in the cache (looked in ${folder}) and HF_HUB_OFFLINE is set`);
  }
  if (o.session?.unreachable) {
    const files = listCachedFiles(folder, revision);
    if (files) return files;
    throw new LocalEntryNotFoundError(
      `${repoType} ${repoId} (revision '${revision}') is not in the cache (looked in ${folder}) and the hub could not be reached earlier in this load (${o.session.unreachable})`,
    );
  }
  const url = `${o.endpoint ?? endpoint()}/api/${repoType}s/${repoId}/revision/${encodeURIComponent(revision)}`;
  let info: { sha?: unknown; siblings?: { rfilename?: unknown }[] };
  try {
    const { response: r } = await request(url, "GET", tokenFor(o), false, etagTimeoutMs());
    if (!r.ok) raiseFor(r, repoId, "(file list)", o);
    info = (await r.json()) as typeof info;
  } catch (e) {
    if (!cacheMayAnswer(e)) throw e;
    if (o.session && isUnreachable(e)) o.session.unreachable ??= (e as Error).message;
    const files = listCachedFiles(folder, revision);
    if (files) {
      warn(`Could not list ${repoId} on the hub (${(e as Error).message}); using the cached snapshot of revision '${revision}'.`);
      return files;
    }
    throw new LocalEntryNotFoundError(`${repoType} ${repoId} could not be listed (${(e as Error).message}) and is not in the cache (looked in ${folder})`);
  }
  if (!Array.isArray(info.siblings)) throw new HubError(`unexpected answer from ${url}: no 'siblings'`);
  const names = info.siblings.map((s) => s.rfilename);
  const bad = names.find((n) => !isSafeRelativePath(n));
  if (bad !== undefined)
    throw new HubError(`the hub's file list for ${repoId} names ${JSON.stringify(bad)}, which is not a relative path inside the repository`);
  if (typeof info.sha === "string" && COMMIT_HASH.test(info.sha)) writeRef(folder, revision, info.sha);
  return (names as string[]).sort();
}
