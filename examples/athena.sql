-- Athena over the s3statusd history (SPEC section 2, record_format = record).
--
-- Every history object is one JSON line written by src/layout.c with exactly these members:
--   {"account":..,"batch_id":..,"task_id":..|null,"status":..,"event_time":"2026-12-03T10:00:00.123Z",
--    "recorded_at":"...","message_id":..,"receive_count":1,"queue":"https://sqs...","payload":<any JSON>}
-- Replace my-status-bucket and FTD_CONTRACT_LOADER (config `bucket` and `prefix`).
-- With record_format = payload the objects hold the producer's payload only: this table does
-- not apply to them.

-- 1. The table: every object under BATCHS/ (batch events in .../status/, task events in
--    .../tasks/). BATCHS/{batch}/summary.json lives there too; the view below leaves it out.
CREATE EXTERNAL TABLE IF NOT EXISTS s3status_history (
  account        string,
  batch_id       string,
  task_id        string,
  status         string,
  event_time     string,   -- RFC 3339, UTC, milliseconds: sorts as text
  recorded_at    string,
  message_id     string,
  receive_count  bigint,
  queue          string,
  payload        string    -- the producer's JSON value as text: use json_extract_scalar()
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')
LOCATION 's3://my-status-bucket/FTD_CONTRACT_LOADER/BATCHS/';

-- Alternative for very large buckets: one partition per batch with partition projection, so a
-- query that names the batch reads only that batch's objects. The partition value is the
-- batch id as it appears in the key (%XX-encoded, e.g. 'load%2Fwarehouse').
--
-- CREATE EXTERNAL TABLE IF NOT EXISTS s3status_history_by_batch (
--   account string, batch_id string, task_id string, status string, event_time string,
--   recorded_at string, message_id string, receive_count bigint, queue string, payload string)
-- PARTITIONED BY (batch_key string)
-- ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
-- WITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')
-- LOCATION 's3://my-status-bucket/FTD_CONTRACT_LOADER/BATCHS/'
-- TBLPROPERTIES (
--   'projection.enabled' = 'true',
--   'projection.batch_key.type' = 'injected',
--   'storage.location.template' = 's3://my-status-bucket/FTD_CONTRACT_LOADER/BATCHS/${batch_key}/');
-- (Queries must then say WHERE batch_key = '...'.)

-- 2. Status events only (no summary.json rows).
CREATE OR REPLACE VIEW s3status_events AS
SELECT account, batch_id, task_id, status,
       from_iso8601_timestamp(event_time) AS event_ts,
       event_time, recorded_at, message_id, receive_count, queue, payload
FROM s3status_history
WHERE "$path" NOT LIKE '%/summary.json'
  AND status IS NOT NULL;

-- 3. Current status per task: the latest event_time per (batch_id, task_id); on equal times
--    pending < running < success < failed < completed (other statuses rank below pending),
--    then the larger message_id -- the same rule as summary.json.
WITH ranked AS (
  SELECT batch_id, task_id, status, event_time, message_id,
         row_number() OVER (
           PARTITION BY batch_id, task_id
           ORDER BY event_ts DESC,
                    CASE status WHEN 'completed' THEN 5 WHEN 'failed' THEN 4
                                WHEN 'success' THEN 3 WHEN 'running' THEN 2
                                WHEN 'pending' THEN 1 ELSE 0 END DESC,
                    status DESC,
                    message_id DESC) AS rn
  FROM s3status_events
  WHERE task_id IS NOT NULL
    AND batch_id = 'nightly-2026-12-03'
)
SELECT batch_id, task_id, status, event_time, message_id
FROM ranked
WHERE rn = 1
ORDER BY task_id;

-- 4. Failure rate per batch: share of tasks whose current status is 'failed'.
WITH current_task AS (
  SELECT batch_id, task_id, status,
         row_number() OVER (
           PARTITION BY batch_id, task_id
           ORDER BY event_ts DESC,
                    CASE status WHEN 'completed' THEN 5 WHEN 'failed' THEN 4
                                WHEN 'success' THEN 3 WHEN 'running' THEN 2
                                WHEN 'pending' THEN 1 ELSE 0 END DESC,
                    status DESC,
                    message_id DESC) AS rn
  FROM s3status_events
  WHERE task_id IS NOT NULL
)
SELECT batch_id,
       count(*)                                                    AS tasks,
       count_if(status = 'failed')                                 AS failed,
       count_if(status IN ('success', 'completed'))                AS succeeded,
       round(100.0 * count_if(status = 'failed') / count(*), 2)    AS failure_rate_pct
FROM current_task
WHERE rn = 1
GROUP BY batch_id
ORDER BY failure_rate_pct DESC, batch_id;

-- 5. A batch's timeline (batch and task events, oldest first), with a payload field.
SELECT event_time, coalesce(task_id, '(batch)') AS task, status,
       json_extract_scalar(payload, '$.error') AS error, receive_count
FROM s3status_events
WHERE batch_id = 'nightly-2026-12-03'
ORDER BY event_ts, task_id NULLS FIRST;
