// Where a named model or dataset file lives: a local folder first, else the hub (cache or download).
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { hfHubDownload, type HubOptions } from "./download.js";
import { EntryNotFoundError, LocalEntryNotFoundError } from "./errors.js";
import { cachedCommit, storageFolder } from "./cache.js";
import { hubCacheDir } from "./constants.js";

function snapshotCached(repoId: string, o: HubOptions): boolean {
  const folder = storageFolder(o.cacheDir ?? hubCacheDir(), repoId, o.repoType ?? "model");
  const commit = cachedCommit(folder, o.revision ?? "main");
  return commit !== null && existsSync(join(folder, "snapshots", commit));
}

/** A name written as a path (./x, ../x, /x, ~/x) is a local folder, never a hub repo: say when it is not there. */
function checkLocalPath(nameOrPath: string): void {
  if (!/^(\.{1,2}[\\/]|[\\/]|~|[A-Za-z]:[\\/])/.test(nameOrPath)) return;
  if (!existsSync(nameOrPath))
    throw new LocalEntryNotFoundError(`${nameOrPath} does not exist: it is written as a local path, so it was not looked up on the hub`);
  if (!statSync(nameOrPath).isDirectory()) throw new LocalEntryNotFoundError(`${nameOrPath} is a file: give the folder that holds it`);
}

export function isLocalDir(nameOrPath: string): boolean {
  return existsSync(nameOrPath) && statSync(nameOrPath).isDirectory();
}

/**
 * transformers' cached_file: `filename` inside a local folder, or in hub repo `nameOrPath`.
 * With optional: true a file the repository does not have gives null instead of an error.
 */
export async function resolveFile(
  nameOrPath: string,
  filename: string,
  o: HubOptions & { optional?: boolean; subfolder?: string } = {},
): Promise<string | null> {
  const file = o.subfolder ? `${o.subfolder}/${filename}` : filename;
  checkLocalPath(nameOrPath);
  if (isLocalDir(nameOrPath)) {
    const p = join(nameOrPath, file);
    if (existsSync(p)) return p;
    if (o.optional) return null;
    throw new EntryNotFoundError(`${nameOrPath} does not contain a file named ${file} (it is a local folder, so the hub was not asked)`);
  }
  try {
    return await hfHubDownload(nameOrPath, file, o);
  } catch (e) {
    if (o.optional && e instanceof EntryNotFoundError) return null;
    // Offline, an optional file missing from a cached snapshot is taken as absent (as transformers
    // does); a repository missing from the cache altogether stays an error that says where it looked.
    if (o.optional && e instanceof LocalEntryNotFoundError && snapshotCached(nameOrPath, o)) return null;
    throw e;
  }
}
