// Starts the local SQS+S3 stand-in (fauxqs) quietly for s3statusd's tests and demo.
//
// Usage: node start.mjs [PORT]     (PORT, else $FAUXQS_PORT, else 0 = any free port)
// The fauxqs install is found in $S3S_EMULATOR_DIR (the folder holding node_modules/),
// else next to this file. Prints one line "fauxqs ready port=N pid=P" on stdout once it
// listens; stops cleanly on SIGTERM/SIGINT, and also when its parent process goes away
// (so a killed test run never leaves an emulator behind).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.env.S3S_EMULATOR_DIR || here;
const appPath = join(dir, "node_modules", "fauxqs", "dist", "app.js");
if (!existsSync(appPath)) {
  console.error(`start.mjs: fauxqs is not installed in ${dir} (run scripts/setup.sh)`);
  process.exit(3);
}

const portArg = process.argv[2] ?? process.env.FAUXQS_PORT ?? "0";
const port = Number.parseInt(portArg, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`start.mjs: bad port '${portArg}'`);
  process.exit(2);
}

const { startFauxqs } = await import(pathToFileURL(appPath).href);
let server;
try {
  server = await startFauxqs({ port, logger: false });
} catch (err) {
  console.error(`start.mjs: cannot start fauxqs on port ${port}: ${err?.message ?? err}`);
  process.exit(1);
}

let stopping = false;
async function stop(why) {
  if (stopping) return;
  stopping = true;
  console.log(`fauxqs stopping (${why})`);
  // fastify's close waits ~2 s on a fauxqs hook; the state is in memory only, so
  // give the close a moment to shut the listener and open sockets, then exit.
  const done = new Promise((resolve) => setTimeout(resolve, 500).unref());
  try {
    await Promise.race([server.stop(), done]);
  } catch (err) {
    console.error(`start.mjs: stop: ${err?.message ?? err}`);
  }
  process.exit(0);
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

// Orphan guard: when the process that started us dies, we are re-parented.
const parent = process.ppid;
const guard = setInterval(() => {
  if (process.ppid !== parent) stop("parent exited");
}, 1000);
guard.unref();

console.log(`fauxqs ready port=${server.port} pid=${process.pid}`);
