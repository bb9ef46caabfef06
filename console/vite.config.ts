import { fileURLToPath, URL } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import { tanstackRouter } from "@tanstack/router-plugin/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The build lands inside the Python package, which serves it (src/sadeem/ui/console.py).
const server = process.env.SADEEM_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [tanstackRouter({ target: "react", autoCodeSplitting: true, routeFileIgnorePattern: "\\.test\\." }), react(), tailwindcss()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: {
    outDir: "../src/sadeem/console_dist",
    emptyOutDir: true,
    // Nothing inline: the server's Content-Security-Policy allows scripts from the origin only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { "/api": server, "/iceberg": server, "/health": server, "/docs": server, "/openapi.json": server },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    globals: true,
    // A component test walks a page through several requests; on a loaded 2-core CI machine the
    // default 5 s cut slow-but-correct runs short.
    testTimeout: 15_000,
  },
});
