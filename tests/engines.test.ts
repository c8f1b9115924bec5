// Every package npm installs must accept the Node the project states (package.json "engines"), or
// `npm install` warns EBADENGINE (katex 0.19 pulled in commander 15, which needs Node >= 22.12).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const semver = require('semver') as { minVersion(r: string): { version: string } | null; satisfies(v: string, r: string): boolean };

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[] }>;
};

describe('Node engines', () => {
  const oldest = semver.minVersion(pkg.engines.node)?.version ?? '';

  it('the project states a Node range', () => {
    expect(oldest).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('every locked package accepts the oldest Node the project supports', () => {
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
      if (!path || !range) continue;
      if (!semver.satisfies(oldest, range)) refusing.push(`${path} wants node ${range}`);
    }
    expect(refusing).toEqual([]);
  });
});
