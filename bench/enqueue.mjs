// Enqueues the benchmark's messages fast (not measured): reads one message body per line from
// BODIES, sends them with SendMessageBatch (10 per call, CONCURRENCY calls in flight) and writes
// the MessageId of each line, in order, to IDS.
//
//   node enqueue.mjs --endpoint URL --queue-url URL --bodies FILE --ids FILE [--concurrency 16]
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { SQSClient, SendMessageBatchCommand } = require("@aws-sdk/client-sqs");
const { NodeHttpHandler } = require("@smithy/node-http-handler");

const { values: a } = parseArgs({
  options: {
    endpoint: { type: "string" }, "queue-url": { type: "string" },
    bodies: { type: "string" }, ids: { type: "string" },
    region: { type: "string", default: process.env.AWS_REGION || "us-east-1" },
    concurrency: { type: "string", default: "16" },
  },
});
const conc = Number(a.concurrency);
const sqs = new SQSClient({
  region: a.region, endpoint: a.endpoint,
  requestHandler: new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: conc }),
  }),
});
const bodies = readFileSync(a.bodies, "utf8").split("\n").filter((l) => l.length);
const ids = new Array(bodies.length);
let next = 0;

async function sender() {
  for (;;) {
    const start = next;
    if (start >= bodies.length) return;
    next += 10;
    const entries = bodies.slice(start, start + 10)
      .map((b, i) => ({ Id: `m${start + i}`, MessageBody: b }));
    for (let attempt = 1; ; attempt++) {
      const r = await sqs.send(new SendMessageBatchCommand({
        QueueUrl: a["queue-url"], Entries: entries,
      }));
      if (r.Failed?.length) {
        if (attempt >= 5) throw new Error(`SendMessageBatch failed: ${JSON.stringify(r.Failed)}`);
        continue; // the emulator answers all or nothing; resend the whole batch
      }
      for (const s of r.Successful) ids[Number(s.Id.slice(1))] = s.MessageId;
      break;
    }
  }
}
await Promise.all(Array.from({ length: conc }, sender));
writeFileSync(a.ids, ids.join("\n") + "\n");
sqs.destroy();
