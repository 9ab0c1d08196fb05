#!/usr/bin/env node
// `npm start` runs this first (prestart): builds the console into agent-console/dist when it is
// missing, so `npm install && npm start` on a fresh machine serves it at /. Without vite (a
// production install that left out devDependencies) the server still starts and / says how to build.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
if (existsSync(join(root, 'agent-console', 'dist', 'index.html'))) process.exit(0);

let vite;
try {
  vite = await import('vite');
} catch {
  console.warn('[console] agent-console/dist is missing and vite is not installed: the API starts without the console (run `npm install` then `npm run build`).');
  process.exit(0);
}
console.log('[console] building the agent console (first start)…');
try {
  await vite.build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
  console.log('[console] built into agent-console/dist');
} catch (e) {
  console.error('[console] build failed; the API starts without the console:', e?.message ?? e);
}
