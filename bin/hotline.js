#!/usr/bin/env node
// The `hotline` admin CLI. Runs the TypeScript sources directly through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../app/cli.ts');
