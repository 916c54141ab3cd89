/* test_sqs.c - reading SQS JSON answers (sqs_parse_answer): the fields of a
 * receive, batch entries accounted for exactly once, the 2xx answers that
 * are refused as malformed, and the peer text a batch entry may carry. */
#include "sqs.h"

#include "check.h"

#define S(lit) lit, sizeof(lit) - 1

static const char *const ids[] = {"0", "1", "2"};

static int parse(const char *target, const char *doc, size_t len, struct sqs_result *r)
{
	return sqs_parse_answer(target, doc, len, ids, ARRAY_SIZE(ids), r);
}

static void test_receive_fields(void)
{
	static const char doc[] =
		"{\"Messages\":[{\"MessageId\":\"m-1\",\"ReceiptHandle\":\"rh\\/1\",\"MD5OfBody\":\"x\","
		"\"Body\":\"{\\\"a\\\":\\\"\\u00e9\\\"}\",\"Attributes\":{\"ApproximateReceiveCount\":"
		"\"3\",\"SentTimestamp\":\"1796292000000\",\"ApproximateFirstReceiveTimestamp\":"
		"\"1796292000100\",\"SenderId\":\"AID\"},\"MessageAttributes\":{\"k\":{\"DataType\":"
		"\"String\",\"StringValue\":\"v\"}}},"
		" {\"Body\":\"a\\u0000b\",\"ReceiptHandle\":\"rh2\",\"MessageId\":\"m-2\"}]}";
	struct sqs_result r;

	CHECK_INT(parse("ReceiveMessage", S(doc), &r), 0);
	CHECK_INT(r.nmessages, 2);
	if (r.nmessages == 2) {
		CHECK_STR(r.messages[0].message_id, "m-1");
		CHECK_STR(r.messages[0].receipt_handle, "rh/1");
		CHECK_INT(r.messages[0].body_len, strlen("{\"a\":\"\xC3\xA9\"}"));
		CHECK_STR(r.messages[0].body, "{\"a\":\"\xC3\xA9\"}");
		CHECK_INT(r.messages[0].receive_count, 3);
		CHECK_INT(r.messages[0].sent_ms, 1796292000000LL);
		CHECK_INT(r.messages[0].first_receive_ms, 1796292000100LL);
		/* no Attributes: the defaults */
		CHECK_INT(r.messages[1].body_len, 3);
		CHECK(memcmp(r.messages[1].body, "a\0b", 4) == 0);
		CHECK_INT(r.messages[1].receive_count, 1);
		CHECK_INT(r.messages[1].sent_ms, 0);
	}
	sqs_result_clear(&r);
}

static void test_receive_edge_cases(void)
{
	struct sqs_result r;

	/* an empty body and an answer without Messages are empty receives */
	CHECK_INT(parse("ReceiveMessage", "", 0, &r), 0);
	CHECK_INT(r.nmessages, 0);
	sqs_result_clear(&r);
	CHECK_INT(parse("ReceiveMessage", S(" {\"Messages\":[]} \n"), &r), 0);
	CHECK_INT(r.nmessages, 0);
	sqs_result_clear(&r);
	/* attributes that are no whole non-negative integers keep the defaults */
	CHECK_INT(parse("ReceiveMessage",
			S("{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\","
			  "\"Attributes\":{\"ApproximateReceiveCount\":\"-1\",\"SentTimestamp\":5,"
			  "\"ApproximateFirstReceiveTimestamp\":\"99999999999999999999\"}}]}"),
			&r),
		  0);
	CHECK_INT(r.nmessages, 1);
	if (r.nmessages == 1) {
		CHECK_INT(r.messages[0].receive_count, 1);
		CHECK_INT(r.messages[0].sent_ms, 0);
		CHECK_INT(r.messages[0].first_receive_ms, 0);
	}
	sqs_result_clear(&r);
	/* a repeated member counts with its last value */
	CHECK_INT(parse("ReceiveMessage",
			S("{\"Messages\":[{\"MessageId\":\"a\",\"ReceiptHandle\":\"r\",\"Body\":\"b\","
			  "\"MessageId\":\"z\"}]}"),
			&r),
		  0);
	CHECK(r.nmessages == 1 && strcmp(r.messages[0].message_id, "z") == 0);
	sqs_result_clear(&r);
}

static void test_receive_malformed(void)
{
	static const char *const bad[] = {
		"{\"Messages\":{}}",
		"{\"Messages\":null}",
		"{\"Messages\":[1]}",
		"{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\"}]}",
		"{\"Messages\":[{\"MessageId\":\"\",\"ReceiptHandle\":\"r\",\"Body\":\"\"}]}",
		"{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":7,\"Body\":\"\"}]}",
		"{\"Messages\":[{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"},"
		"{\"MessageId\":\"m\",\"ReceiptHandle\":\"r\",\"Body\":\"\"}]}", /* 11 */
	};
	static const char *const not_json[] = {
		"[]", "\"x\"", "{", "{}x", "{\"a\":1,}", "{'a':1}", "{\"a\":\"\\ud800\"}",
		"{\"a\":\"\xff\"}",
	};
	struct sqs_result r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_INT(parse("ReceiveMessage", bad[i], strlen(bad[i]), &r), -1);
		CHECK_STR(r.parse_error, "malformed ReceiveMessage answer");
		sqs_result_clear(&r);
	}
	for (i = 0; i < ARRAY_SIZE(not_json); i++) {
		CHECK_INT(parse("GetQueueAttributes", not_json[i], strlen(not_json[i]), &r), -1);
		CHECK_STR(r.parse_error, "answer is not a JSON object");
		sqs_result_clear(&r);
	}
}

static void test_batch(void)
{
	static const char doc[] =
		"{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"2\"},7,{\"Id\":\"nope\"}],"
		"\"Failed\":[{\"Id\":\"2\",\"Code\":\"Receipt Handle\\n<x>\",\"Message\":\"gone\\tnow\","
		"\"SenderFault\":true},{\"Id\":\"0\",\"SenderFault\":1}]}";
	struct sqs_result r;

	CHECK_INT(parse("DeleteMessageBatch", S(doc), &r), 0);
	CHECK_INT(r.nentries, 3);
	if (r.nentries == 3) {
		/* in both lists: failed, and a failure without a code says "Failed" */
		CHECK(!r.entries[0].ok && r.entries[0].sender_fault);
		CHECK_STR(r.entries[0].code, "Failed");
		CHECK_STR(r.entries[0].message, "");
		CHECK(!r.entries[1].ok);
		CHECK_STR(r.entries[1].code, "MissingFromAnswer");
		CHECK(!r.entries[2].ok && r.entries[2].sender_fault);
		CHECK_STR(r.entries[2].code, "Receipt_Handle__x_");
		CHECK_STR(r.entries[2].message, "gone now");
	}
	sqs_result_clear(&r);
	CHECK_INT(parse("ChangeMessageVisibilityBatch",
			S("{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"1\"},{\"Id\":\"2\"}],"
			  "\"Failed\":[]}"),
			&r),
		  0);
	CHECK(r.nentries == 3 && r.entries[0].ok && r.entries[1].ok && r.entries[2].ok &&
	      !r.entries[0].code);
	sqs_result_clear(&r);
	CHECK_INT(parse("DeleteMessageBatch",
			S("{\"Failed\":[{\"Id\":\"1\",\"Code\":\"X\",\"SenderFault\":\"\"}]}"), &r),
		  0);
	CHECK(r.nentries == 3 && !r.entries[1].ok && !r.entries[1].sender_fault);
	sqs_result_clear(&r);
}

static void test_values(void)
{
	struct sqs_result r;

	CHECK_INT(parse("SendMessage", S("{\"MD5OfMessageBody\":\"x\",\"MessageId\":\"5f\\u0065\"}"),
			&r),
		  0);
	CHECK_STR(r.value, "5fe");
	sqs_result_clear(&r);
	CHECK_INT(parse("GetQueueUrl", S("{\"QueueUrl\":\"http:\\/\\/h\\/000\\/q\"}"), &r), 0);
	CHECK_STR(r.value, "http://h/000/q");
	sqs_result_clear(&r);
	CHECK_INT(parse("GetQueueUrl", S("{\"QueueUrl\":1}"), &r), -1);
	CHECK_STR(r.parse_error, "answer lacks the expected field");
	sqs_result_clear(&r);
	CHECK_INT(parse("SendMessage", S("{}"), &r), -1);
	sqs_result_clear(&r);
	CHECK_INT(parse("GetQueueAttributes", S("{\"Attributes\":{\"QueueArn\":\"a\"}}"), &r), 0);
	sqs_result_clear(&r);
}

int main(void)
{
	test_receive_fields();
	test_receive_edge_cases();
	test_receive_malformed();
	test_batch();
	test_values();
	return check_done("test_sqs");
}
