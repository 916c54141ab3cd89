// A fake S3 for the benchmark's latency mode: answers every PutObject after DELAY ms (like a
// real region's round trip) without storing the body, so throughput is bound by latency x
// concurrency, not by anyone's CPU. Node http with keep-alive: thousands of PUT/s on one core.
//
//   node fake_s3.mjs [--port 0] [--delay-ms 50]
// Prints "fake_s3 ready port=N pid=P" once listening. HEAD/GET on a bucket answer 200 (start-up
// checks). GET /_fake/stats answers {"puts":..,"bytes":..,"unique":..,"max_concurrent":..};
// GET /_fake/keys the distinct keys PUT, one per line; POST /_fake/reset forgets everything.
// Stops on SIGTERM/SIGINT and when its parent goes away.
import http from "node:http";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "delay-ms": { type: "string", default: "50" },
  },
});
const delay = Number(a["delay-ms"]);
let puts = 0, bytes = 0, concurrent = 0, maxConcurrent = 0;
let keys = new Set();

const server = http.createServer((req, res) => {
  const url = req.url;
  if (url.startsWith("/_fake/")) {
    req.resume();
    if (url === "/_fake/stats") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ puts, bytes, unique: keys.size, max_concurrent: maxConcurrent }));
    } else if (url === "/_fake/keys") {
      res.end([...keys].join("\n") + (keys.size ? "\n" : ""));
    } else if (url === "/_fake/reset" && req.method === "POST") {
      puts = bytes = maxConcurrent = 0;
      keys = new Set();
      res.end("ok\n");
    } else {
      res.statusCode = 404;
      res.end();
    }
    return;
  }
  if (req.method !== "PUT") {
    req.resume();
    res.setHeader("x-amz-request-id", "fake");
    res.end(); // HEAD/GET bucket: 200, empty
    return;
  }
  concurrent++;
  if (concurrent > maxConcurrent) maxConcurrent = concurrent;
  let n = 0;
  req.on("data", (c) => { n += c.length; });
  req.on("end", () => {
    setTimeout(() => {
      concurrent--;
      puts++;
      bytes += n;
      // path-style: /bucket/key (percent-encoded as sent)
      const q = url.indexOf("?");
      keys.add(decodeURIComponent((q < 0 ? url : url.slice(0, q)).split("/").slice(2).join("/")));
      res.setHeader("ETag", '"00000000000000000000000000000000"');
      res.setHeader("x-amz-request-id", "fake");
      res.end();
    }, delay);
  });
});
server.keepAliveTimeout = 120000;
server.headersTimeout = 125000;
server.maxRequestsPerSocket = 0;
server.listen(Number(a.port), "127.0.0.1", () => {
  console.log(`fake_s3 ready port=${server.address().port} pid=${process.pid}`);
});
const stop = () => { server.close(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) stop(); }, 1000).unref();
