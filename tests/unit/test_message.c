/* test_message.c - msg_decode against SPEC section 1: every rejection code
 * and its reason, aliases, envelopes, identifiers, time and payload bytes. */
#include "message.h"

#include "check.h"
#include "json.h"

#define SENT 1796292000000LL /* 2026-12-03T10:00:00.000Z */
#define T10 SENT

static const char *const accounts[] = {"acme", "beta"};
static const char *const custom_statuses[] = {"queued", "Done"};

static const struct msg_rules rules_table[] = {
	{0},
	{.accounts = accounts, .naccounts = 2},
	{.statuses = custom_statuses, .nstatuses = 2},
	{.limits = {.max_body = 200, .max_depth = 4, .max_fields = 5}},
};
enum { R_DEFAULT, R_ACCOUNTS, R_STATUSES, R_SMALL };

struct mcase {
	const char *name;
	const char *body;
	enum msg_error rc;
	const char *reason; /* expected substring of the reason (errors) */
	int rules;
	/* expectations when rc == MSG_OK */
	enum msg_command cmd;
	const char *batch, *task, *status, *account, *payload, *token;
	int64_t time;
	bool time_given;
};

#define E(n, b, e, r) {.name = n, .body = b, .rc = e, .reason = r}
#define ER(n, b, e, r, ru) {.name = n, .body = b, .rc = e, .reason = r, .rules = ru}
#define CMDB "\"command\":\"add-batch-status\","
#define CMDT "\"command\":\"add-task-status\","
#define BATCH "\"command\":\"add-batch-status\",\"batch_id\":\"b1\",\"status\":\"running\""
#define S_BODY_OK "{" BATCH "}"

static const struct mcase cases[] = {
	/* ---- accepted ---- */
	{"batch event", "{" BATCH "}", MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "b1", NULL, "running",
	 NULL, NULL, NULL, T10, false},
	{"task event, every field",
	 "{" CMDT "\"batch_id\":\"b1\",\"task_id\":\"t1\",\"status\":\"completed\",\"account\":\"acme\","
	 "\"event_time\":\"2026-12-03T10:00:00.123Z\",\"payload\":{\"k\":[1,2]},\"task_token\":\"tok\"}",
	 MSG_OK, NULL, 0, CMD_ADD_TASK_STATUS, "b1", "t1", "completed", "acme", "{\"k\":[1,2]}", "tok",
	 T10 + 123, true},
	{"whitespace around the body", " \n\t{" BATCH "} \r\n", MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS,
	 "b1", NULL, "running", NULL, NULL, NULL, T10, false},
	{"aliases batch-id task-id",
	 "{" CMDT "\"batch-id\":\"b2\",\"task-id\":\"t2\",\"status\":\"pending\"}", MSG_OK, NULL, 0,
	 CMD_ADD_TASK_STATUS, "b2", "t2", "pending", NULL, NULL, NULL, T10, false},
	{"alias and field with the same value",
	 "{" CMDT "\"batch_id\":\"b\",\"batch-id\":\"b\",\"task_id\":\"t\",\"task-id\":\"t\","
	 "\"status\":\"pending\"}",
	 MSG_OK, NULL, 0, CMD_ADD_TASK_STATUS, "b", "t", "pending", NULL, NULL, NULL, T10, false},
	{"alias equal after unescaping",
	 "{" CMDB "\"batch_id\":\"b1\",\"batch-id\":\"b\\u0031\",\"status\":\"running\"}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, NULL, T10, false},
	{"alias null is absent", "{" CMDB "\"batch_id\":\"b1\",\"batch-id\":null,\"status\":\"running\"}",
	 MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, NULL, T10, false},
	{"status upper case", "{" CMDB "\"batch_id\":\"b\",\"status\":\"RUNNING\"}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b", NULL, "running", NULL, NULL, NULL, T10, false},
	{"status mixed case", "{" CMDB "\"batch_id\":\"b\",\"status\":\"Completed\"}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b", NULL, "completed", NULL, NULL, NULL, T10, false},
	{"status escaped", "{" CMDB "\"batch_id\":\"b\",\"status\":\"F\\u0061iled\"}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b", NULL, "failed", NULL, NULL, NULL, T10, false},
	{"status success", "{" CMDB "\"batch_id\":\"b\",\"status\":\"success\"}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b", NULL, "success", NULL, NULL, NULL, T10, false},
	{"event_time +02:00", "{" BATCH ",\"event_time\":\"2026-12-03T12:00:00+02:00\"}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, NULL, T10, true},
	{"event_time -04:30 with fraction",
	 "{" BATCH ",\"event_time\":\"2026-12-03T05:30:00.5-04:30\"}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, NULL, T10 + 500, true},
	{"event_time lower-case t and z", "{" BATCH ",\"event_time\":\"2026-12-03t10:00:01.25z\"}",
	 MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, NULL, T10 + 1250,
	 true},
	{"event_time crossing midnight", "{" BATCH ",\"event_time\":\"2026-12-04T01:00:00+15:00\"}",
	 MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, NULL, T10, true},
	{"event_time null defaults to SentTimestamp", "{" BATCH ",\"event_time\":null}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, NULL, T10, false},
	{"payload 1e400 verbatim", "{" BATCH ",\"payload\":1e400}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, "1e400", NULL, T10, false},
	{"payload 30-digit integer verbatim",
	 "{" BATCH ",\"payload\":123456789012345678901234567890}", MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS,
	 "b1", NULL, "running", NULL, "123456789012345678901234567890", NULL, T10, false},
	{"payload -0.0E-00 verbatim", "{" BATCH ",\"payload\":-0.0E-00}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, "-0.0E-00", NULL, T10, false},
	{"payload nested with spacing verbatim",
	 "{" BATCH ",\"payload\": {\"a\" : [1, {\"b\":\"c\\\"d\"}],\n \"e\":\"\\u00e9\\n\", \"f\":1.50} }",
	 MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL,
	 "{\"a\" : [1, {\"b\":\"c\\\"d\"}],\n \"e\":\"\\u00e9\\n\", \"f\":1.50}", NULL, T10, false},
	{"payload string with escapes verbatim",
	 "{" BATCH ",\"payload\":\"tab\\there \\ud83d\\ude00 \\/ \\\\\"}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, "\"tab\\there \\ud83d\\ude00 \\/ \\\\\"",
	 NULL, T10, false},
	{"payload with duplicate keys inside is stored as is",
	 "{" BATCH ",\"payload\":{\"a\":1,\"a\":2}}", MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "b1", NULL,
	 "running", NULL, "{\"a\":1,\"a\":2}", NULL, T10, false},
	{"payload false", "{" BATCH ",\"payload\":false}", MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "b1",
	 NULL, "running", NULL, "false", NULL, T10, false},
	{"payload empty array", "{" BATCH ",\"payload\":[]}", MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "b1",
	 NULL, "running", NULL, "[]", NULL, T10, false},
	{"payload null is absent", "{" BATCH ",\"payload\":null}", MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS,
	 "b1", NULL, "running", NULL, NULL, NULL, T10, false},
	{"TaskToken alias", "{" BATCH ",\"TaskToken\":\"AAAA+/==\"}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, "AAAA+/==", T10, false},
	{"task_token and TaskToken equal", "{" BATCH ",\"task_token\":\"x\",\"TaskToken\":\"x\"}", MSG_OK,
	 NULL, 0, CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, "x", T10, false},
	{"get-status of a batch", "{\"command\":\"get-status\",\"batch_id\":\"b\",\"task_token\":\"tk\"}",
	 MSG_OK, NULL, 0, CMD_GET_STATUS, "b", NULL, NULL, NULL, NULL, "tk", T10, false},
	{"get-status of a task ignores status",
	 "{\"command\":\"get-status\",\"batch-id\":\"b\",\"task-id\":\"t\",\"status\":42}", MSG_OK, NULL, 0,
	 CMD_GET_STATUS, "b", "t", NULL, NULL, NULL, NULL, T10, false},
	{"add-batch-status ignores task_id", "{" BATCH ",\"task_id\":{\"x\":1}}", MSG_OK, NULL, 0,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, NULL, T10, false},
	{"unknown fields ignored", "{\"zzz\":[1,{\"a\":null}]," BATCH ",\"Type\":\"Notification\","
	 "\"Message\":\"{}\",\"detail\":1,\"detail-type\":\"x\",\"source\":\"y\"}",
	 MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, NULL, NULL, T10, false},
	{"unicode and punctuation identifiers",
	 "{" CMDT "\"batch_id\":\"b\xC3\xA4tch/../x y%\",\"task_id\":\"\\u2603\\ud83d\\ude00\","
	 "\"status\":\"running\"}",
	 MSG_OK, NULL, 0, CMD_ADD_TASK_STATUS, "b\xC3\xA4tch/../x y%", "\xE2\x98\x83\xF0\x9F\x98\x80",
	 "running", NULL, NULL, NULL, T10, false},
	{"NBSP is not a control character", "{" CMDB "\"batch_id\":\"a\\u00a0b\",\"status\":\"running\"}",
	 MSG_OK, NULL, 0, CMD_ADD_BATCH_STATUS, "a\xC2\xA0" "b", NULL, "running", NULL, NULL, NULL, T10,
	 false},
	{"SNS notification",
	 "{\"Type\":\"Notification\",\"MessageId\":\"m-1\",\"TopicArn\":\"arn:aws:sns:eu-west-1:1:t\","
	 "\"Message\":\"{\\\"command\\\":\\\"add-task-status\\\",\\\"batch_id\\\":\\\"b9\\\","
	 "\\\"task_id\\\":\\\"t9\\\",\\\"status\\\":\\\"FAILED\\\",\\\"payload\\\":{\\\"n\\\":1e400}}\","
	 "\"Timestamp\":\"2026-12-03T09:00:00.000Z\"}",
	 MSG_OK, NULL, 0, CMD_ADD_TASK_STATUS, "b9", "t9", "failed", NULL, "{\"n\":1e400}", NULL, T10,
	 false},
	{"EventBridge event",
	 "{\"version\":\"0\",\"id\":\"e-1\",\"detail-type\":\"status\",\"source\":\"my.app\","
	 "\"time\":\"2026-12-03T09:00:00Z\",\"detail\":{" CMDT "\"batch_id\":\"b7\",\"task_id\":\"t7\","
	 "\"status\":\"success\",\"payload\":[1, 2]}}",
	 MSG_OK, NULL, 0, CMD_ADD_TASK_STATUS, "b7", "t7", "success", NULL, "[1, 2]", NULL, T10, false},
	{"account allowed", "{" BATCH ",\"account\":\"beta\"}", MSG_OK, NULL, R_ACCOUNTS,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", "beta", NULL, NULL, T10, false},
	{"custom status allowed", "{" CMDB "\"batch_id\":\"b\",\"status\":\"QUEUED\"}", MSG_OK, NULL,
	 R_STATUSES, CMD_ADD_BATCH_STATUS, "b", NULL, "queued", NULL, NULL, NULL, T10, false},
	{"custom status from a mixed-case config", "{" CMDB "\"batch_id\":\"b\",\"status\":\"done\"}",
	 MSG_OK, NULL, R_STATUSES, CMD_ADD_BATCH_STATUS, "b", NULL, "done", NULL, NULL, NULL, T10, false},
	{"depth 4 within small limits", "{" BATCH ",\"payload\":[[[1]]]}", MSG_OK, NULL, R_SMALL,
	 CMD_ADD_BATCH_STATUS, "b1", NULL, "running", NULL, "[[[1]]]", NULL, T10, false},

	/* ---- InvalidJSON ---- */
	E("not JSON", "hello", MSG_INVALID_JSON, "body is not valid JSON: unexpected character at byte 0"),
	E("empty body", "", MSG_INVALID_JSON, "body is not valid JSON: empty document"),
	E("truncated", "{\"command\":", MSG_INVALID_JSON, "unexpected end of document"),
	E("trailing garbage", "{" BATCH "} x", MSG_INVALID_JSON, "trailing data after the document"),
	E("two documents", "{" BATCH "}{}", MSG_INVALID_JSON, "trailing data"),
	E("array body", "[1,2]", MSG_INVALID_JSON, "body is not a JSON object (got array)"),
	E("string body", "\"{}\"", MSG_INVALID_JSON, "body is not a JSON object (got string)"),
	E("null body", "null", MSG_INVALID_JSON, "(got null)"),
	E("single quotes", "{'command':'add-batch-status'}", MSG_INVALID_JSON, "expected a string key"),
	E("invalid UTF-8 in batch_id", "{" CMDB "\"batch_id\":\"b\xff\",\"status\":\"running\"}",
	 MSG_INVALID_JSON, "invalid UTF-8 in string at byte 43"),
	E("overlong UTF-8 in batch_id", "{" CMDB "\"batch_id\":\"\xC0\xAF\",\"status\":\"running\"}",
	 MSG_INVALID_JSON, "invalid UTF-8"),
	E("UTF-8 encoded surrogate", "{" CMDB "\"batch_id\":\"\xED\xA0\x80\",\"status\":\"running\"}",
	 MSG_INVALID_JSON, "invalid UTF-8"),
	E("lone surrogate escape", "{" CMDB "\"batch_id\":\"\\ud800\",\"status\":\"running\"}",
	 MSG_INVALID_JSON, "lone surrogate"),
	E("lone low surrogate in payload", "{" BATCH ",\"payload\":\"\\udc00\"}", MSG_INVALID_JSON,
	 "lone surrogate"),
	E("raw newline in a string", "{" CMDB "\"batch_id\":\"a\nb\",\"status\":\"running\"}",
	 MSG_INVALID_JSON, "control character in string"),
	E("bad number in payload", "{" BATCH ",\"payload\":01}", MSG_INVALID_JSON, "expected ',' or '}'"),
	E("NaN payload", "{" BATCH ",\"payload\":NaN}", MSG_INVALID_JSON, "unexpected character"),
	E("duplicate key", "{" BATCH ",\"batch_id\":\"b1\"}", MSG_INVALID_JSON,
	 "body has a duplicate key \"batch_id\""),
	E("duplicate key after unescaping", "{" BATCH ",\"st\\u0061tus\":\"running\"}", MSG_INVALID_JSON,
	 "duplicate key \"status\""),
	E("duplicate unknown key", "{" BATCH ",\"x\":1,\"x\":1}", MSG_INVALID_JSON,
	 "duplicate key \"x\""),
	E("SNS Message not JSON",
	 "{\"Type\":\"Notification\",\"Message\":\"hello\"}", MSG_INVALID_JSON,
	 "SNS Message is not valid JSON: unexpected character at byte 0"),
	E("SNS Message not an object", "{\"Type\":\"Notification\",\"Message\":\"[1]\"}",
	 MSG_INVALID_JSON, "SNS Message is not a JSON object (got array)"),
	E("SNS Message with a duplicate key",
	 "{\"Type\":\"Notification\",\"Message\":\"{\\\"a\\\":1,\\\"a\\\":2}\"}", MSG_INVALID_JSON,
	 "SNS Message has a duplicate key \"a\""),
	E("SNS envelope with a duplicate key",
	 "{\"Type\":\"Notification\",\"Type\":\"Notification\",\"Message\":\"{}\"}", MSG_INVALID_JSON,
	 "body has a duplicate key \"Type\""),
	E("EventBridge detail with a duplicate key",
	 "{\"detail-type\":\"x\",\"source\":\"y\",\"detail\":{\"a\":1,\"a\":1}}", MSG_INVALID_JSON,
	 "EventBridge detail has a duplicate key \"a\""),

	/* ---- MissingField ---- */
	E("no command", "{\"batch_id\":\"b\",\"status\":\"running\"}", MSG_MISSING_FIELD,
	 "missing field command"),
	E("command null", "{\"command\":null,\"batch_id\":\"b\"}", MSG_MISSING_FIELD,
	 "missing field command"),
	E("empty object", "{}", MSG_MISSING_FIELD, "missing field command"),
	E("no batch_id", "{" CMDB "\"status\":\"running\"}", MSG_MISSING_FIELD, "missing field batch_id"),
	E("batch_id null", "{" CMDB "\"batch_id\":null,\"status\":\"running\"}", MSG_MISSING_FIELD,
	 "missing field batch_id"),
	E("get-status without batch_id", "{\"command\":\"get-status\"}", MSG_MISSING_FIELD,
	 "missing field batch_id"),
	E("task event without task_id", "{" CMDT "\"batch_id\":\"b\",\"status\":\"running\"}",
	 MSG_MISSING_FIELD, "missing field task_id (required for add-task-status)"),
	E("task event with task_id null",
	 "{" CMDT "\"batch_id\":\"b\",\"task_id\":null,\"status\":\"running\"}", MSG_MISSING_FIELD,
	 "missing field task_id"),
	E("batch event without status", "{" CMDB "\"batch_id\":\"b\"}", MSG_MISSING_FIELD,
	 "missing field status (required for add-batch-status)"),
	E("task event with status null",
	 "{" CMDT "\"batch_id\":\"b\",\"task_id\":\"t\",\"status\":null}", MSG_MISSING_FIELD,
	 "missing field status (required for add-task-status)"),
	E("SNS notification of an EventBridge event is not unwrapped twice",
	 "{\"Type\":\"Notification\",\"Message\":\"{\\\"detail-type\\\":\\\"x\\\",\\\"source\\\":"
	 "\\\"y\\\",\\\"detail\\\":{" "\\\"command\\\":\\\"get-status\\\",\\\"batch_id\\\":\\\"b\\\"}}\"}",
	 MSG_MISSING_FIELD, "missing field command"),
	E("SNS subscription confirmation",
	 "{\"Type\":\"SubscriptionConfirmation\",\"Message\":\"You have chosen...\"}", MSG_MISSING_FIELD,
	 "missing field command"),

	/* ---- InvalidField ---- */
	E("command is a number", "{\"command\":5,\"batch_id\":\"b\"}", MSG_INVALID_FIELD,
	 "field command must be a string, not number"),
	E("batch_id is a number", "{" CMDB "\"batch_id\":123,\"status\":\"running\"}", MSG_INVALID_FIELD,
	 "field batch_id must be a string, not number"),
	E("batch-id is an object", "{" CMDB "\"batch-id\":{},\"status\":\"running\"}", MSG_INVALID_FIELD,
	 "field batch-id must be a string, not object"),
	E("batch_id ok but alias of wrong type",
	 "{" CMDB "\"batch_id\":\"b\",\"batch-id\":true,\"status\":\"running\"}", MSG_INVALID_FIELD,
	 "field batch-id must be a string, not boolean"),
	E("batch_id empty", "{" CMDB "\"batch_id\":\"\",\"status\":\"running\"}", MSG_INVALID_FIELD,
	 "field batch_id must be 1..256 bytes, not 0"),
	E("batch_id with \\u0001", "{" CMDB "\"batch_id\":\"a\\u0001\",\"status\":\"running\"}",
	 MSG_INVALID_FIELD, "field batch_id contains a control character at byte 1"),
	E("batch_id with NUL", "{" CMDB "\"batch_id\":\"a\\u0000b\",\"status\":\"running\"}",
	 MSG_INVALID_FIELD, "field batch_id contains a control character"),
	E("batch_id with newline escape", "{" CMDB "\"batch_id\":\"a\\nb\",\"status\":\"running\"}",
	 MSG_INVALID_FIELD, "field batch_id contains a control character"),
	E("batch_id with DEL", "{" CMDB "\"batch_id\":\"a\x7f\",\"status\":\"running\"}",
	 MSG_INVALID_FIELD, "field batch_id contains a control character"),
	E("batch_id with C1 NEL", "{" CMDB "\"batch_id\":\"a\\u0085\",\"status\":\"running\"}",
	 MSG_INVALID_FIELD, "field batch_id contains a control character"),
	E("batch_id with raw C1 byte pair", "{" CMDB "\"batch_id\":\"a\xC2\x9F\",\"status\":\"running\"}",
	 MSG_INVALID_FIELD, "field batch_id contains a control character"),
	E("task_id with a tab", "{" CMDT "\"batch_id\":\"b\",\"task_id\":\"\\t\",\"status\":\"running\"}",
	 MSG_INVALID_FIELD, "field task_id contains a control character at byte 0"),
	E("batch_id and batch-id differ",
	 "{" CMDB "\"batch_id\":\"a\",\"batch-id\":\"b\",\"status\":\"running\"}", MSG_INVALID_FIELD,
	 "fields batch_id and batch-id have different values"),
	E("task_id and task-id differ",
	 "{" CMDT "\"batch_id\":\"b\",\"task_id\":\"t\",\"task-id\":\"T\",\"status\":\"running\"}",
	 MSG_INVALID_FIELD, "fields task_id and task-id have different values"),
	E("task_token and TaskToken differ", "{" BATCH ",\"task_token\":\"x\",\"TaskToken\":\"y\"}",
	 MSG_INVALID_FIELD, "fields task_token and TaskToken have different values"),
	E("task_token empty", "{" BATCH ",\"task_token\":\"\"}", MSG_INVALID_FIELD,
	 "field task_token must be 1..2048 bytes, not 0"),
	E("task_token a number", "{" BATCH ",\"TaskToken\":7}", MSG_INVALID_FIELD,
	 "field TaskToken must be a string, not number"),
	E("status a number", "{" CMDB "\"batch_id\":\"b\",\"status\":1}", MSG_INVALID_FIELD,
	 "field status must be a string, not number"),
	E("account empty", "{" BATCH ",\"account\":\"\"}", MSG_INVALID_FIELD,
	 "field account must be 1..256 bytes"),
	E("account with a newline", "{" BATCH ",\"account\":\"a\\r\\n\"}", MSG_INVALID_FIELD,
	 "field account contains a control character"),
	E("account an array", "{" BATCH ",\"account\":[]}", MSG_INVALID_FIELD,
	 "field account must be a string, not array"),
	E("event_time not a date", "{" BATCH ",\"event_time\":\"yesterday\"}", MSG_INVALID_FIELD,
	 "field event_time is not an RFC 3339 date-time: \"yesterday\""),
	E("event_time month 13", "{" BATCH ",\"event_time\":\"2026-13-01T00:00:00Z\"}", MSG_INVALID_FIELD,
	 "field event_time is not an RFC 3339"),
	E("event_time without zone", "{" BATCH ",\"event_time\":\"2026-12-03T10:00:00\"}",
	 MSG_INVALID_FIELD, "field event_time is not an RFC 3339"),
	E("event_time date only", "{" BATCH ",\"event_time\":\"2026-12-03\"}", MSG_INVALID_FIELD,
	 "field event_time"),
	E("event_time with a space", "{" BATCH ",\"event_time\":\"2026-12-03 10:00:00Z\"}",
	 MSG_INVALID_FIELD, "field event_time"),
	E("event_time as epoch number", "{" BATCH ",\"event_time\":1796292000}", MSG_INVALID_FIELD,
	 "field event_time must be a string, not number"),
	E("SNS Message not a string", "{\"Type\":\"Notification\",\"Message\":{\"command\":1}}",
	 MSG_INVALID_FIELD, "SNS notification field Message must be a string, not object"),
	E("EventBridge detail not an object",
	 "{\"detail-type\":\"x\",\"source\":\"y\",\"detail\":\"{}\"}", MSG_INVALID_FIELD,
	 "EventBridge field detail must be an object, not string"),

	/* ---- UnknownCommand ---- */
	E("unknown command", "{\"command\":\"add-status\",\"batch_id\":\"b\"}", MSG_UNKNOWN_COMMAND,
	 "field command has an unknown value \"add-status\""),
	E("command is case-sensitive", "{\"command\":\"ADD-BATCH-STATUS\",\"batch_id\":\"b\"}",
	 MSG_UNKNOWN_COMMAND, "\"ADD-BATCH-STATUS\""),
	E("command with a newline is quoted on one line", "{\"command\":\"x\\ny\",\"batch_id\":\"b\"}",
	 MSG_UNKNOWN_COMMAND, "\"x\\u000ay\""),
	E("command empty", "{\"command\":\"\"}", MSG_UNKNOWN_COMMAND, "unknown value \"\""),

	/* ---- InvalidStatus ---- */
	E("unknown status", "{" CMDB "\"batch_id\":\"b\",\"status\":\"done\"}", MSG_INVALID_STATUS,
	 "field status has a value that is not allowed: \"done\""),
	E("empty status", "{" CMDB "\"batch_id\":\"b\",\"status\":\"\"}", MSG_INVALID_STATUS,
	 "not allowed: \"\""),
	E("status with NUL", "{" CMDB "\"batch_id\":\"b\",\"status\":\"running\\u0000\"}",
	 MSG_INVALID_STATUS, "\"running\\u0000\""),
	E("status with spaces", "{" CMDB "\"batch_id\":\"b\",\"status\":\" running\"}",
	 MSG_INVALID_STATUS, "\" running\""),
	ER("default status not in a custom list", "{" BATCH "}", MSG_INVALID_STATUS, "\"running\"",
	 R_STATUSES),

	/* ---- AccountNotAllowed ---- */
	ER("account not in the list", "{" BATCH ",\"account\":\"evil\"}", MSG_ACCOUNT_NOT_ALLOWED,
	 "field account has a value that is not allowed: \"evil\"", R_ACCOUNTS),
	ER("account match is case-sensitive", "{" BATCH ",\"account\":\"ACME\"}", MSG_ACCOUNT_NOT_ALLOWED,
	 "\"ACME\"", R_ACCOUNTS),
	ER("account missing when restricted", "{" BATCH "}", MSG_ACCOUNT_NOT_ALLOWED,
	 "missing field account (allowed accounts are restricted)", R_ACCOUNTS),
	ER("account null when restricted", "{" BATCH ",\"account\":null}", MSG_ACCOUNT_NOT_ALLOWED,
	 "missing field account", R_ACCOUNTS),
	ER("get-status is checked too", "{\"command\":\"get-status\",\"batch_id\":\"b\",\"account\":\"x\"}",
	 MSG_ACCOUNT_NOT_ALLOWED, "\"x\"", R_ACCOUNTS),

	/* ---- TooLarge ---- */
	ER("body over max_body",
	 "{" BATCH ",\"payload\":\"0123456789012345678901234567890123456789012345678901234567890123456"
	 "78901234567890123456789012345678901234567890123456789012\"}",
	 MSG_TOO_LARGE, "body is 201 bytes, over the limit of 200", R_SMALL),
	ER("nesting over max_depth", "{" BATCH ",\"payload\":[[[[1]]]]}", MSG_TOO_LARGE,
	 "body nests JSON deeper than 4 levels (byte 78)", R_SMALL),
	ER("more members than max_fields", "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6}",
	 MSG_TOO_LARGE, "body has a JSON object with more than 5 fields", R_SMALL),
	ER("nested object over max_fields", "{" BATCH ",\"payload\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4,"
	 "\"e\":5,\"f\":6}}", MSG_TOO_LARGE, "more than 5 fields", R_SMALL),
	ER("SNS Message nesting too deep",
	 "{\"Type\":\"Notification\",\"Message\":\"{\\\"a\\\":[[[[1]]]]}\"}", MSG_TOO_LARGE,
	 "SNS Message nests JSON deeper than 4 levels", R_SMALL),
	ER("depth error wins over a later syntax error", "[[[[[x", MSG_TOO_LARGE, "deeper than 4",
	 R_SMALL),
};

static void check_empty(const struct status_msg *m)
{
	CHECK(!m->batch_id && !m->task_id && !m->status && !m->account && !m->payload &&
	      !m->task_token && m->payload_len == 0);
}

static void test_table(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct mcase *c = &cases[i];
		struct status_msg m;
		struct buf reason;
		enum msg_error rc;
		int before = check_failures;

		buf_init(&reason, 0);
		rc = msg_decode(c->body, strlen(c->body), SENT, &rules_table[c->rules], &m, &reason);
		CHECK_INT(rc, c->rc);
		if (c->rc != MSG_OK) {
			CHECK(c->reason && strstr(buf_str(&reason), c->reason) != NULL);
			CHECK(!strchr(buf_str(&reason), '\n') && !strchr(buf_str(&reason), '\r'));
			CHECK(reason.len > 0 && reason.len < 200);
			check_empty(&m);
		} else {
			CHECK_INT(m.command, c->cmd);
			CHECK_STR(m.batch_id, c->batch);
			if (c->task)
				CHECK_STR(m.task_id, c->task);
			else
				CHECK(m.task_id == NULL);
			if (c->status)
				CHECK_STR(m.status, c->status);
			else
				CHECK(m.status == NULL);
			if (c->account)
				CHECK_STR(m.account, c->account);
			else
				CHECK(m.account == NULL);
			if (c->payload) {
				CHECK_INT(m.payload_len, strlen(c->payload));
				CHECK_STR(m.payload, c->payload);
			} else {
				CHECK(m.payload == NULL && m.payload_len == 0);
			}
			if (c->token)
				CHECK_STR(m.task_token, c->token);
			else
				CHECK(m.task_token == NULL);
			CHECK_INT(m.event_time_ms, c->time);
			CHECK_INT(m.event_time_given, c->time_given);
		}
		if (check_failures != before)
			fprintf(stderr, "  in case \"%s\" (reason: %s)\n", c->name, buf_str(&reason));
		status_msg_clear(&m);
		buf_free(&reason);
	}
}

/* Decode body; return the code and copy the reason into r (caller frees). */
static enum msg_error decode(const char *body, size_t len, const struct msg_rules *rules,
			     struct status_msg *m, struct buf *r)
{
	buf_init(r, 0);
	return msg_decode(body, len, SENT, rules, m, r);
}

static void test_identifier_lengths(void)
{
	struct status_msg m;
	struct buf r, body;
	char id[300];
	size_t n;

	for (n = 255; n <= 257; n++) {
		memset(id, 'x', n);
		id[n] = '\0';
		buf_init(&body, 0);
		buf_addf(&body, "{\"command\":\"add-task-status\",\"batch_id\":\"%s\",\"task_id\":\"%s\","
			 "\"status\":\"running\",\"account\":\"%s\"}",
			 n == 257 ? "b" : id, id, n == 257 ? "a" : id);
		CHECK_INT(decode(body.data, body.len, NULL, &m, &r), n <= 256 ? MSG_OK : MSG_INVALID_FIELD);
		if (n <= 256) {
			CHECK_INT(strlen(m.batch_id), n);
			CHECK_INT(strlen(m.task_id), n);
		} else {
			CHECK_STR(buf_str(&r), "field task_id must be 1..256 bytes, not 257");
		}
		status_msg_clear(&m);
		buf_free(&r);
		buf_free(&body);
	}
	/* 256 bytes made of 2-byte characters is fine, one more byte is not */
	buf_init(&body, 0);
	buf_adds(&body, "{\"command\":\"get-status\",\"batch_id\":\"");
	for (n = 0; n < 128; n++)
		buf_adds(&body, "\xC3\xA9");
	buf_adds(&body, "\"}");
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_OK);
	CHECK_INT(strlen(m.batch_id), 256);
	status_msg_clear(&m);
	buf_free(&r);
	buf_free(&body);
	buf_init(&body, 0);
	buf_adds(&body, "{\"command\":\"get-status\",\"batch_id\":\"x");
	for (n = 0; n < 128; n++)
		buf_adds(&body, "\\u00e9"); /* escapes count by their UTF-8 bytes */
	buf_adds(&body, "\"}");
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_INVALID_FIELD);
	CHECK_STR(buf_str(&r), "field batch_id must be 1..256 bytes, not 257");
	buf_free(&r);
	buf_free(&body);
}

static void test_task_token_limits_and_secrecy(void)
{
	struct status_msg m;
	struct buf r, body;
	char tok[2100];

	memset(tok, 'T', sizeof(tok) - 1);
	tok[2048] = '\0';
	buf_init(&body, 0);
	buf_addf(&body, "{" BATCH ",\"task_token\":\"%s\"}", tok);
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_OK);
	CHECK_INT(strlen(m.task_token), 2048);
	status_msg_clear(&m);
	buf_free(&r);
	buf_free(&body);
	tok[2048] = 'T';
	tok[2049] = '\0';
	buf_init(&body, 0);
	buf_addf(&body, "{" BATCH ",\"task_token\":\"%s\"}", tok);
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_INVALID_FIELD);
	CHECK_STR(buf_str(&r), "field task_token must be 1..2048 bytes, not 2049");
	buf_free(&r);
	buf_free(&body);
	/* the token never appears in a reason */
	buf_init(&body, 0);
	buf_adds(&body, "{" BATCH ",\"task_token\":\"SECRET\\u0007TOKEN\"}");
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_INVALID_FIELD);
	CHECK_STR(buf_str(&r), "field task_token contains a control character at byte 6");
	buf_free(&r);
	buf_free(&body);
	buf_init(&body, 0);
	buf_adds(&body, "{" BATCH ",\"task_token\":\"SECRETTOKEN\",\"TaskToken\":\"OTHERSECRET\"}");
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_INVALID_FIELD);
	CHECK(!strstr(buf_str(&r), "SECRET"));
	CHECK(!m.task_token);
	buf_free(&r);
	buf_free(&body);
	/* a valid token survives another field's rejection, for SendTaskFailure */
	buf_init(&body, 0);
	buf_adds(&body, "{\"command\":\"add-batch-status\",\"batch_id\":\"b\",\"status\":\"bogus\","
			"\"task_token\":\"tok-1\"}");
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_INVALID_STATUS);
	CHECK_STR(m.task_token, "tok-1");
	CHECK(!m.batch_id && !m.status);
	status_msg_clear(&m);
	buf_free(&r);
	buf_free(&body);
}

static void test_reason_excerpts(void)
{
	struct status_msg m;
	struct buf r, body;
	size_t i;

	/* a long value is cut (at a character boundary) and never copied whole */
	buf_init(&body, 0);
	buf_adds(&body, "{\"command\":\"");
	for (i = 0; i < 1000; i++)
		buf_adds(&body, "\xE2\x82\xAC");
	buf_adds(&body, "\"}");
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_UNKNOWN_COMMAND);
	CHECK(r.len < 120);
	CHECK(strstr(buf_str(&r), "...") != NULL);
	CHECK(json_utf8_valid(r.data, r.len));
	buf_free(&r);
	buf_free(&body);
	/* a bad body is described, never echoed */
	buf_init(&body, 0);
	buf_adds(&body, "{\"command\":\"add-batch-status\",\"batch_id\":\"b\",\"status\":\"running\" oops");
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_INVALID_JSON);
	CHECK_STR(buf_str(&r), "body is not valid JSON: expected ',' or '}' at byte 64");
	buf_free(&r);
	buf_free(&body);
	/* reason may be NULL, rules may be NULL */
	CHECK_INT(msg_decode("[]", 2, SENT, NULL, &m, NULL), MSG_INVALID_JSON);
	check_empty(&m);
	/* body may contain NUL bytes: they are not JSON */
	CHECK_INT(decode("{}\0{}", 5, NULL, &m, &r), MSG_INVALID_JSON);
	CHECK(strstr(buf_str(&r), "trailing data") != NULL);
	buf_free(&r);
}

static void test_nesting_bomb(void)
{
	struct status_msg m;
	struct buf r;
	size_t n = 100000;
	char *s = xmalloc(n);
	int64_t t0;

	memset(s, '[', n);
	t0 = clock_mono_ms();
	CHECK_INT(decode(s, n, NULL, &m, &r), MSG_TOO_LARGE);
	CHECK(clock_mono_ms() - t0 < 1000);
	CHECK_STR(buf_str(&r), "body nests JSON deeper than 64 levels (byte 64)");
	buf_free(&r);
	/* with a body limit below its size it is refused before scanning */
	{
		struct msg_rules rules = {.limits = {.max_body = 1000}};

		CHECK_INT(decode(s, n, &rules, &m, &r), MSG_TOO_LARGE);
		CHECK_STR(buf_str(&r), "body is 100000 bytes, over the limit of 1000");
		buf_free(&r);
	}
	/* the same as an object nest inside a valid command */
	free(s);
	s = xmalloc(200000);
	memcpy(s, "{" BATCH ",\"payload\":", strlen("{" BATCH ",\"payload\":"));
	memset(s + strlen("{" BATCH ",\"payload\":"), '[', 100000);
	CHECK_INT(decode(s, strlen("{" BATCH ",\"payload\":") + 100000, NULL, &m, &r), MSG_TOO_LARGE);
	buf_free(&r);
	free(s);
}

static void test_default_limits(void)
{
	struct status_msg m;
	struct buf r, body;
	size_t i;

	/* 262144 bytes exactly is accepted, one more is TooLarge */
	buf_init(&body, 0);
	buf_adds(&body, "{" BATCH ",\"payload\":\"");
	while (body.len < 262144 - 2)
		buf_addc(&body, 'p');
	buf_adds(&body, "\"}");
	CHECK_INT(body.len, 262144);
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_OK);
	CHECK_INT(m.payload_len, 262144 - strlen("{" BATCH ",\"payload\":") - 1);
	status_msg_clear(&m);
	buf_free(&r);
	buf_reset(&body);
	buf_adds(&body, "{" BATCH ",\"payload\":\"");
	while (body.len < 262145 - 2)
		buf_addc(&body, 'p');
	buf_adds(&body, "\"}");
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_TOO_LARGE);
	CHECK_STR(buf_str(&r), "body is 262145 bytes, over the limit of 262144");
	buf_free(&r);
	/* 1000 members at the top level are fine, 1001 are not */
	buf_reset(&body);
	buf_adds(&body, "{" BATCH);
	for (i = 3; i < 1000; i++)
		buf_addf(&body, ",\"k%zu\":%zu", i, i);
	buf_addc(&body, '}');
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_OK);
	status_msg_clear(&m);
	buf_free(&r);
	body.len--;
	buf_adds(&body, ",\"last\":0}");
	CHECK_INT(decode(body.data, body.len, NULL, &m, &r), MSG_TOO_LARGE);
	CHECK(strstr(buf_str(&r), "more than 1000 fields") != NULL);
	buf_free(&r);
	buf_free(&body);
}

static void test_error_codes(void)
{
	static const struct {
		enum msg_error e;
		const char *code;
	} codes[] = {
		{MSG_OK, "OK"},
		{MSG_INVALID_JSON, "InvalidJSON"},
		{MSG_MISSING_FIELD, "MissingField"},
		{MSG_INVALID_STATUS, "InvalidStatus"},
		{MSG_UNKNOWN_COMMAND, "UnknownCommand"},
		{MSG_INVALID_FIELD, "InvalidField"},
		{MSG_ACCOUNT_NOT_ALLOWED, "AccountNotAllowed"},
		{MSG_TOO_LARGE, "TooLarge"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(codes); i++)
		CHECK_STR(msg_error_code(codes[i].e), codes[i].code);
	CHECK_STR(msg_error_code((enum msg_error)99), "Unknown");
	CHECK_STR(msg_command_name(CMD_ADD_BATCH_STATUS), "add-batch-status");
	CHECK_STR(msg_command_name(CMD_ADD_TASK_STATUS), "add-task-status");
	CHECK_STR(msg_command_name(CMD_GET_STATUS), "get-status");
	CHECK_STR(msg_default_statuses[4], "completed");
}

/* out is reset even when it held an earlier message; clear is idempotent */
static void test_reuse(void)
{
	struct status_msg m;
	struct buf r;

	CHECK_INT(decode(S_BODY_OK, strlen(S_BODY_OK), NULL, &m, &r), MSG_OK);
	buf_free(&r);
	status_msg_clear(&m);
	status_msg_clear(&m);
	check_empty(&m);
}

int main(void)
{
	test_table();
	test_identifier_lengths();
	test_task_token_limits_and_secrecy();
	test_reason_excerpts();
	test_nesting_bomb();
	test_default_limits();
	test_error_codes();
	test_reuse();
	return check_done("test_message");
}
