/**
 * Builds the web UI into dist/web, which `taskmap serve` serves and the npm package ships (`npm run build`).
 * Everything is bundled (Preact, Vega, Vega-Lite, D3): the UI makes no request outside its own server.
 * `npm run dev:web` serves it with hot reload, proxying /api to a `taskmap serve` on port 8377.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative asset URLs: the page works from any path prefix it is served under.
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // Vega alone is ~1 MB minified; one chunk per library keeps rebuilds cacheable and the warning meaningful.
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8377' } },
});
