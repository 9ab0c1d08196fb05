import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

/**
 * The agent console (坐席工作台): a Vue 3 SPA in agent-console/, built into agent-console/dist and
 * served by the API server at `/` (app/landing.ts). `npm run dev:console` serves it with hot reload
 * on :5173 and proxies /api (HTTP and the live WebSocket) to the API at HOTLINE_API
 * (default http://127.0.0.1:3000), so the session cookie stays same-origin.
 */
const api = process.env.HOTLINE_API ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: fileURLToPath(new URL('./agent-console', import.meta.url)),
  base: '/',
  plugins: [vue()],
  define: {
    __VUE_PROD_DEVTOOLS__: false,
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: false,
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      '/api': { target: api, ws: true },
      '/healthz': { target: api },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // Element Plus's own chunk is the largest; everything else is split per workspace.
    chunkSizeWarningLimit: 1000,
  },
});
