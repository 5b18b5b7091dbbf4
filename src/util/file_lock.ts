// A lock file that says who holds it: created exclusively (O_EXCL), holding the holder's pid and
// host, removed on release and at process exit. A lock left by a process that died (kill -9) on
// this host is taken over with a warning; one held by a live process, or by another host, is not.
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { hostname } from "node:os";

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

export class LockedError extends Error {
  constructor(
    message: string,
    readonly holder: LockHolder | null,
  ) {
    super(message);
    this.name = "LockedError";
  }
}

function readHolder(path: string): LockHolder | null {
  try {
    const j = JSON.parse(readFileSync(path, "utf8")) as Partial<LockHolder>;
    return typeof j.pid === "number" && typeof j.host === "string" ? { pid: j.pid, host: j.host, since: String(j.since ?? "") } : null;
  } catch {
    return null;
  }
}

/** Whether a process of this host runs (EPERM: it runs, as another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether the holder is known to be gone: a process of this host that no longer runs. */
function stale(h: LockHolder | null): boolean {
  return h !== null && h.host === hostname() && h.pid !== process.pid && !alive(h.pid);
}

const held = new Set<string>();
let exitHookInstalled = false;
function releaseAllAtExit(): void {
  for (const p of held) rmSync(p, { force: true });
}
/**
 * SIGTERM and SIGHUP (a launcher stopping its ranks, a closed terminal) end a process without its
 * exit handlers: the locks are released first, then the signal is raised again with its default
 * action, so the process still ends as signalled (unless the program handles the signal itself).
 */
function releaseOnSignal(sig: NodeJS.Signals): void {
  releaseAllAtExit();
  held.clear();
  for (const s of ["SIGTERM", "SIGHUP"] as const) process.off(s, releaseOnSignal);
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

export interface FileLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock at `path` once, or throws LockedError naming the holder. `warn` hears about a
 * stale lock taken over. A lock file without a readable holder (a crash between create and write)
 * counts as stale after `unreadableGraceMs`.
 */
export function tryLock(path: string, warn: (m: string) => void = (m) => console.warn(m), unreadableGraceMs = 2000): FileLock {
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = readHolder(path);
      if (holder && holder.pid === process.pid && holder.host === me.host && held.has(path)) {
        throw new LockedError(`${path} is already held by this process`, holder);
      }
      if (stale(holder) || (holder === null && unreadableOlderThan(path, unreadableGraceMs))) {
        // Rename rather than delete: of two processes taking over the same stale lock, one rename wins.
        const aside = `${path}.stale-${process.pid}`;
        try {
          renameSync(path, aside);
          rmSync(aside, { force: true });
          warn(
            `taking over the lock ${path}${holder ? ` left by process ${holder.pid} on ${holder.host}, which is no longer running` : " (it names no holder)"}`,
          );
        } catch {
          /* another process took it over first */
        }
        continue;
      }
      throw new LockedError(
        holder
          ? `${path} is held by process ${holder.pid} on ${holder.host} (since ${holder.since}); if that process is gone, delete the file`
          : `${path} is held by another process; if none is running, delete the file`,
        holder,
      );
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    held.add(path);
    if (!exitHookInstalled) {
      process.on("exit", releaseAllAtExit);
      exitHookInstalled = true;
    }
    for (const s of ["SIGTERM", "SIGHUP"] as const) if (!process.listeners(s).includes(releaseOnSignal)) process.on(s, releaseOnSignal);
    return {
      path,
      release() {
        if (!held.delete(path)) return;
        if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
      },
    };
  }
  throw new LockedError(`${path}: could not take the lock (it keeps changing hands)`, readHolder(path));
}

function unreadableOlderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

/** Waits (polling) until the lock at `path` can be taken; throws after `timeoutMs`. */
export async function lock(
  path: string,
  o: { timeoutMs?: number; pollMs?: number; warn?: (m: string) => void; onWait?: (holder: LockHolder | null) => void } = {},
): Promise<FileLock> {
  const deadline = Date.now() + (o.timeoutMs ?? Infinity);
  let told = false;
  for (;;) {
    try {
      return tryLock(path, o.warn);
    } catch (e) {
      if (!(e instanceof LockedError) || Date.now() >= deadline) throw e;
      if (!told) o.onWait?.(e.holder);
      told = true;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
    }
  }
}
