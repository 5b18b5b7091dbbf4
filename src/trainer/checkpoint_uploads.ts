// pushToHub's uploads (HF's _push_from_checkpoint with the every_save strategy): each checkpoint is
// uploaded in the background while training goes on; a folder being uploaded is not rotated away;
// the first failure is kept and reported when training ends.
import { uploadFolder } from "../hub/index.js";
import type { TrainingArguments } from "./training_args.js";

/** What a checkpoint's upload leaves out: the model files the final push carries. */
const CHECKPOINT_UPLOAD = /^(model\.safetensors|config\.json|tokenizer.*|special_tokens_map\.json|vocab\.txt)$/;

export class CheckpointUploads {
  readonly #pending: Promise<void>[] = [];
  #error: Error | null = null;
  /** Checkpoint folders whose upload is still running: rotation leaves them for later. */
  readonly busy = new Set<string>();

  constructor(readonly args: TrainingArguments) {}

  async push(folder: string, message: string, ignore: (p: string) => boolean): Promise<void> {
    await uploadFolder(this.args.hubModelId!, folder, {
      token: this.args.hubToken ?? undefined,
      private: this.args.hubPrivateRepo,
      commitMessage: message,
      ignore,
    });
  }

  /** Starts a checkpoint's upload in the background; `done` runs when it ends (the folder may then be rotated). */
  pushCheckpoint(folder: string, step: number, done: () => void): void {
    this.busy.add(folder);
    this.#pending.push(
      this.push(folder, `Training in progress, step ${step}`, (p) => !CHECKPOINT_UPLOAD.test(p))
        .catch((e: Error) => {
          this.#error ??= e;
        })
        .finally(() => {
          this.busy.delete(folder);
          done();
        }),
    );
  }

  /** Waits for the uploads started so far. */
  async wait(): Promise<void> {
    await Promise.all(this.#pending.splice(0));
  }

  /** Waits for the uploads started so far; throws the first failure. */
  async settle(): Promise<void> {
    await this.wait();
    if (this.#error) throw new Error(`pushToHub: uploading a checkpoint failed: ${this.#error.message}`);
  }
}
