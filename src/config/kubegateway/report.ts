import type { TranslationNote, UnsupportedField } from './types.ts';

/** What a translation found: fields it could not carry over exactly, and notes. */
export class TranslationReport {
  readonly unsupported: UnsupportedField[] = [];
  readonly notes: TranslationNote[] = [];

  /** `path` was not carried over exactly; `reason` says why and what was emitted instead. */
  unsupportedAt(path: string, reason: string): void {
    this.unsupported.push({ path, reason });
  }

  /** `path` was carried over exactly, but the operator should know `message`. */
  noteAt(path: string, message: string): void {
    this.notes.push({ path, message });
  }
}
