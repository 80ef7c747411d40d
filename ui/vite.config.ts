import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` serves the UI with hot reload and sends /api to a running gateway
// (deploy/local/dev.sh's, by default).
const gateway = process.env.JO_GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  server: { proxy: { "/api": gateway, "/.well-known": gateway } },
  build: {
    // Hashed file names under assets/: the gateway serves them as immutable.
    assetsDir: "assets",
    sourcemap: false,
    // The import graph, for the benchmark's size of the first page (scripts/bench.mjs).
    manifest: true,
    chunkSizeWarningLimit: 800,
  },
  test: {
    environment: "happy-dom",
    environmentOptions: { happyDOM: { url: "http://localhost:3000/" } },
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    testTimeout: 20000,
  },
});
