// The Node.js peer: what a user would write instead of s3statusd with the AWS SDK v3
// (@aws-sdk/client-sqs, @aws-sdk/client-s3), idiomatically.
//
// CONCURRENCY async workers share one SQS and one S3 client, each with a keep-alive agent
// sized to the concurrency. Each worker: long-poll ReceiveMessage (10 at a time), decode and
// validate each message, PUT its records at the layout's keys in parallel (SPEC section 2:
// same key, same one-line JSON record, Content-Type application/json, SHA-256 checksum), then
// DeleteMessageBatch the ones stored. Like `s3statusd --drain` it stops when two receives in a
// row came back empty, and exits once the work in hand is finished.
//
//   node node_consumer.mjs --queue-url URL --bucket B --endpoint URL [--s3-endpoint URL]
//        [--concurrency 32] [--wait-time 1] [--visibility-timeout 60]
//
// Prints one JSON line of counts on stdout at the end. The SDK is found through NODE_PATH
// (the benchmark installs it from bench/package-lock.json into its cache folder).
import http from "node:http";
import https from "node:https";
import { parseArgs } from "node:util";
import { createRequire } from "node:module";

// Resolve the SDK from NODE_PATH (ES module imports ignore it, require() does not).
const require = createRequire(import.meta.url);
const {
  SQSClient, ReceiveMessageCommand, DeleteMessageBatchCommand,
} = require("@aws-sdk/client-sqs");
const { S3Client, PutObjectCommand } = require("@aws-sdk/client-s3");
const { NodeHttpHandler } = require("@smithy/node-http-handler");

const { values: a } = parseArgs({
  options: {
    "queue-url": { type: "string" },
    bucket: { type: "string" },
    endpoint: { type: "string" },
    "s3-endpoint": { type: "string" },
    region: { type: "string", default: process.env.AWS_REGION || "us-east-1" },
    concurrency: { type: "string", default: "32" },
    "wait-time": { type: "string", default: "1" },
    "visibility-timeout": { type: "string", default: "60" },
  },
});
const queueUrl = a["queue-url"];
const concurrency = Number(a.concurrency);
const waitTime = Number(a["wait-time"]);
const visibility = Number(a["visibility-timeout"]);

const PREFIX = "FTD_CONTRACT_LOADER";
const STATUSES = new Set(["pending", "running", "failed", "success", "completed"]);
const COMMANDS = new Set(["add-batch-status", "add-task-status", "get-status"]);

function handler() {
  const opts = { keepAlive: true, maxSockets: concurrency };
  return new NodeHttpHandler({
    httpAgent: new http.Agent(opts),
    httpsAgent: new https.Agent(opts),
    connectionTimeout: 10000,
    requestTimeout: (waitTime + 30) * 1000,
  });
}
const sqs = new SQSClient({ region: a.region, endpoint: a.endpoint, requestHandler: handler() });
const s3 = new S3Client({
  region: a.region,
  endpoint: a["s3-endpoint"] || a.endpoint,
  forcePathStyle: true,
  requestHandler: handler(),
});

class Invalid extends Error {}

// An identifier as one key segment: bytes outside A-Z a-z 0-9 . _ - as %XX; "." and ".." encoded.
function encodeId(s) {
  const b = Buffer.from(s, "utf8");
  if (s === "." || s === "..") return "%2E".repeat(b.length);
  let out = "";
  for (const c of b) {
    const ch = String.fromCharCode(c);
    out += /[A-Za-z0-9._-]/.test(ch) ? ch : "%" + c.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

const stamp = (ms) => new Date(ms).toISOString().replace(/[-:]/g, ""); // 20261203T000000.001Z

function ident(doc, name, alias, required) {
  const v = doc[name], al = doc[alias];
  if (v != null && al != null && v !== al) throw new Invalid(`${name} and ${alias} differ`);
  const id = v ?? al;
  if (id == null) {
    if (required) throw new Invalid(`missing ${name}`);
    return null;
  }
  const n = typeof id === "string" ? Buffer.byteLength(id) : 0;
  if (n < 1 || n > 256 || /[\x00-\x1f\x7f]/.test(id)) throw new Invalid(`bad ${name}`);
  return id;
}

function build(m) {
  let doc;
  try {
    doc = JSON.parse(m.Body);
  } catch (e) {
    throw new Invalid(`not JSON: ${e.message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new Invalid("not an object");
  }
  if (!COMMANDS.has(doc.command)) throw new Invalid("unknown command");
  const batch = ident(doc, "batch_id", "batch-id", true);
  let task = ident(doc, "task_id", "task-id", doc.command === "add-task-status");
  if (doc.command === "add-batch-status") task = null;
  if (typeof doc.status !== "string" || !STATUSES.has(doc.status.toLowerCase())) {
    throw new Invalid("bad status");
  }
  const status = doc.status.toLowerCase();
  const eventMs = doc.event_time !== undefined
    ? Date.parse(doc.event_time)
    : Number(m.Attributes?.SentTimestamp);
  if (!Number.isFinite(eventMs)) throw new Invalid("bad event_time");
  const tail = `${stamp(eventMs)}_${m.MessageId}.json`;
  const key = task === null
    ? `${PREFIX}/BATCHS/${encodeId(batch)}/status/${status}/${tail}`
    : `${PREFIX}/BATCHS/${encodeId(batch)}/tasks/${encodeId(task)}/${status}/${tail}`;
  const record = {
    account: doc.account ?? null, batch_id: batch, task_id: task, status,
    event_time: new Date(eventMs).toISOString(), recorded_at: new Date().toISOString(),
    message_id: m.MessageId, receive_count: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
    queue: queueUrl, payload: doc.payload ?? null,
  };
  return { key, body: JSON.stringify(record) + "\n" };
}

const counts = { received: 0, stored: 0, deleted: 0, invalid: 0, failed: 0 };
let emptyStreak = 0;
let stop = false;

async function worker() {
  while (!stop) {
    const r = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitTime,
      VisibilityTimeout: visibility,
      MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
    }));
    const msgs = r.Messages ?? [];
    counts.received += msgs.length;
    emptyStreak = msgs.length ? 0 : emptyStreak + 1;
    if (emptyStreak >= 2) stop = true;
    const results = await Promise.all(msgs.map(async (m) => {
      try {
        const { key, body } = build(m);
        await s3.send(new PutObjectCommand({
          Bucket: a.bucket, Key: key, Body: body, ContentType: "application/json",
          ChecksumAlgorithm: "SHA256",
        }));
        return m;
      } catch (e) {
        if (e instanceof Invalid) counts.invalid++;
        else counts.failed++;
        const what = e instanceof Invalid ? "invalid" : "put failed";
        console.error(`message ${m.MessageId}: ${what}: ${e.message}`);
        return null;
      }
    }));
    const done = results.filter((m) => m !== null);
    if (done.length) {
      const d = await sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }));
      for (const f of d.Failed ?? []) console.error(`delete failed: ${JSON.stringify(f)}`);
      counts.stored += done.length;
      counts.deleted += (d.Successful ?? []).length;
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
console.log(JSON.stringify(counts));
sqs.destroy();
s3.destroy();
process.exitCode = counts.failed || counts.invalid ? 1 : 0;
