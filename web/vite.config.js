// Builds the console into ../target/classes/web (packed into the Scalebox jar, served at / and
// /assets/*). `npx vite` serves it for development, proxying the API to SCALEBOX_URL.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const target = process.env.SCALEBOX_URL || 'http://127.0.0.1:8080';

// The API may compare Origin with its own address: say the request comes from it.
const sameOrigin = {
  target,
  changeOrigin: true,
  configure(proxy) {
    const fix = (req) => req.getHeader('origin') && req.setHeader('origin', new URL(target).origin);
    proxy.on('proxyReq', fix);
    proxy.on('proxyReqWs', fix);
  },
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    outDir: '../target/classes/web',
    emptyOutDir: true,
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    proxy: {
      '/session': sameOrigin,
      '/events': sameOrigin,
      '/info': sameOrigin,
      '/templates': sameOrigin,
      '/users': sameOrigin,
      '/boxes': sameOrigin,
      '/vms': { ...sameOrigin, ws: true },
    },
  },
});
