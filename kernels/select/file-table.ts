// Node only: the winner table stored as a JSON file per key (table-key.ts), by default in
// node_modules/.cache/nanoseek/kernel-tables/ (NANOSEEK_KERNEL_TABLES names another folder). A file
// that is missing or unreadable is no table.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TableStore } from './table-key.js';

export function fileTable(dir = process.env.NANOSEEK_KERNEL_TABLES || path.join(process.cwd(), 'node_modules', '.cache', 'nanoseek', 'kernel-tables')): TableStore {
  const file = (key: string) => path.join(dir, `${key.replace(/[^\w.-]/g, '_')}.json`);
  return {
    load(key) {
      try {
        return JSON.parse(readFileSync(file(key), 'utf8')) as unknown;
      } catch {
        return null;
      }
    },
    save(key, stored) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(file(key), JSON.stringify(stored));
    },
  };
}
