// The files the agent writes for the plugins and the runtime: each swapped in whole by rename, and
// only when its content changes, so a reader never sees half a file and an unchanged peer set
// touches nothing.
import { readRegularFile, writeFileAtomic } from '../sys/files.js';

/** Writes `text` to `path` unless it already holds it; true when it wrote. */
export function writeIfChanged(path: string, text: string, mode = 0o644): boolean {
  try {
    if (readRegularFile(path) === text) return false;
  } catch {
    // missing or unreadable: write it
  }
  writeFileAtomic(path, text, mode);
  return true;
}
