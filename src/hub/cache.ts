// The Hugging Face cache layout (shared with Python's huggingface_hub):
//   {cache}/{models|datasets}--{org}--{name}/refs/{revision}        → a commit hash
//   {cache}/{models|datasets}--{org}--{name}/snapshots/{commit}/{file} → the file (or a link into blobs/)
//   {cache}/{models|datasets}--{org}--{name}/blobs/{etag}
//   {cache}/{models|datasets}--{org}--{name}/.no_exist/{commit}/{file} → "the hub has no such file"
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { COMMIT_HASH, type RepoType } from "./constants.js";

export function repoFolderName(repoId: string, repoType: RepoType): string {
  return `${repoType}s--${repoId.split("/").join("--")}`;
}

export function storageFolder(cacheDir: string, repoId: string, repoType: RepoType): string {
  return join(cacheDir, repoFolderName(repoId, repoType));
}

/** The commit a revision points to in the cache, or null. */
export function cachedCommit(folder: string, revision: string): string | null {
  if (COMMIT_HASH.test(revision)) return revision;
  const ref = join(folder, "refs", revision);
  if (!existsSync(ref)) return null;
  // A ref holding anything but a commit hash (damaged, or written by a hostile server before names
  // were checked) is not followed into a path.
  const commit = readFileSync(ref, "utf8").trim();
  return COMMIT_HASH.test(commit) ? commit : null;
}

export type CacheLookup = { path: string } | { noExist: true } | null;

/** huggingface_hub's try_to_load_from_cache: the cached file, a cached "does not exist", or null. */
export function tryLoadFromCache(folder: string, filename: string, revision: string): CacheLookup {
  const commit = cachedCommit(folder, revision);
  if (!commit) return null;
  const path = join(folder, "snapshots", commit, filename);
  if (existsSync(path)) return { path };
  if (existsSync(join(folder, ".no_exist", commit, filename))) return { noExist: true };
  return null;
}

/** The files of a cached snapshot, as repository-relative paths with '/' separators. */
export function listCachedFiles(folder: string, revision: string): string[] | null {
  const commit = cachedCommit(folder, revision);
  if (!commit) return null;
  const root = join(folder, "snapshots", commit);
  if (!existsSync(root)) return null;
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p).split(sep).join("/"));
    }
  };
  walk(root);
  return out.sort();
}
