// The hub's failure modes, named as huggingface_hub names them.

export class HubError extends Error {
  /** The HTTP status of the hub's answer, when there was one. */
  readonly status?: number;
  constructor(message: string, status?: number) {
    super(message);
    this.name = new.target.name;
    if (status !== undefined) this.status = status;
  }
}
/** No answer: the connection failed, or the hub did not answer (or stopped sending) in time. */
export class HubUnreachableError extends HubError {}
/** The file is not in the repository (the hub answered 404 for it). */
export class EntryNotFoundError extends HubError {}
/** The repository does not exist or you have no access (the hub answered 401/404 for the repo). */
export class RepositoryNotFoundError extends HubError {}
/** The revision (branch, tag or commit) does not exist. */
export class RevisionNotFoundError extends HubError {}
/** Offline, or the hub unreachable, and the file is not in the cache either. */
export class LocalEntryNotFoundError extends HubError {}
