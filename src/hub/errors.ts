// The hub's failure modes, named as huggingface_hub names them.

export class HubError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** The file is not in the repository (the hub answered 404 for it). */
export class EntryNotFoundError extends HubError {}
/** The repository does not exist or you have no access (the hub answered 401/404 for the repo). */
export class RepositoryNotFoundError extends HubError {}
/** The revision (branch, tag or commit) does not exist. */
export class RevisionNotFoundError extends HubError {}
/** Offline, or the hub unreachable, and the file is not in the cache either. */
export class LocalEntryNotFoundError extends HubError {}
