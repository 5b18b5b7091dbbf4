// finetune-ts/hub: the Hugging Face cache and hub downloads.
export { HubSession, hfHubDownload, hubUrl, listRepoFiles, type HubOptions } from "./download.js";
export { resolveFile, isLocalDir } from "./resolve.js";
export { hfHome, hubCacheDir, isOffline, endpoint, type RepoType } from "./constants.js";
export { repoFolderName, tryLoadFromCache, listCachedFiles } from "./cache.js";
export * from "./errors.js";
export { uploadFolder, type UploadOptions } from "./upload.js";
// The atomic writers live in util/ (below every layer); re-exported here, where users found them.
export { writeFileAtomic, writeJsonAtomic, readJsonObject } from "../util/files.js";
