// SPDX-License-Identifier: AGPL-3.0-or-later
// Builds the console into web/dist; the docs/*.md files of the repository are
// bundled as raw strings (src/lib/docs.ts), so nothing is fetched at run time.
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

export default defineConfig({
  plugins: [vue()],
  base: "./",
  resolve: {
    alias: { "@": new URL("./src", import.meta.url).pathname },
  },
  server: {
    fs: { allow: [".."] },
    proxy: { "/api": "http://127.0.0.1:8081" },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: false,
  },
});
