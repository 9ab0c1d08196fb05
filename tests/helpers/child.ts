/**
 * Real processes for crash tests: a database two processes can share, and a child node (a TypeScript
 * script run through tsx) killed with SIGKILL at the moment it announces on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, migrateToLatest } from '../../db';
import { freshDatabase, testDialect, type TestDatabase } from './db';

/** A migrated database two processes can share: a SQLite file, or a fresh MariaDB database. */
export async function sharedDatabase(): Promise<{ url: string; database: TestDatabase; cleanup(): Promise<void> }> {
  if (testDialect === 'mysql') {
    const database = await freshDatabase();
    return { url: database.url, database, cleanup: () => database.dispose() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'hotline-shared-'));
  const url = `sqlite:${join(dir, 'hotline.sqlite')}`;
  const opened = await openDatabase(url);
  await migrateToLatest(opened);
  const database: TestDatabase = { ...opened, url, dispose: () => opened.close() };
  return {
    url,
    database,
    cleanup: async () => {
      await opened.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `script` with `args` and kills it with SIGKILL (kill -9) as soon as its output contains
 * `killOn`; resolves with whether it died by that signal and what it printed.
 */
export function runChildUntil(script: string, args: string[], killOn: string, timeoutMs = 90_000): Promise<{ killed: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child never printed ${killOn}: ${output}`));
    }, timeoutMs);
    child.stdout.on('data', (b) => {
      output += String(b);
      if (output.includes(killOn)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (b) => (output += String(b)));
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ killed: signal === 'SIGKILL', output });
    });
  });
}
