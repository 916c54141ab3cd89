/* fuzz_sqs.c - libFuzzer target for the SQS JSON answers the client reads:
 * ReceiveMessage, the batch answers (DeleteMessageBatch and
 * ChangeMessageVisibilityBatch share a parser) and SendMessage/GetQueueUrl,
 * through sqs_parse_answer. No crash; a parsed receive holds 0..10
 * messages with ids, receipt handles and bodies of their stated length; a
 * parsed batch accounts for every entry sent, exactly once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sqs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = {"0", "1", "2", "m-1", "10"};
	static const char *const targets[] = {"ReceiveMessage", "DeleteMessageBatch",
					      "ChangeMessageVisibilityBatch", "SendMessage",
					      "GetQueueUrl", "GetQueueAttributes"};
	const char *p = (const char *)data;
	struct sqs_result r;
	size_t t, i;
	int rc;

	for (t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		rc = sqs_parse_answer(targets[t], p, size, ids, 5, &r);
		if (rc < 0) {
			REQUIRE(r.parse_error != NULL);
			sqs_result_clear(&r);
			continue;
		}
		REQUIRE(r.nmessages <= 10);
		for (i = 0; i < r.nmessages; i++) {
			const struct sqs_message *m = &r.messages[i];

			REQUIRE(m->message_id && *m->message_id);
			REQUIRE(m->receipt_handle && *m->receipt_handle);
			REQUIRE(m->body != NULL && m->body[m->body_len] == '\0');
			REQUIRE(m->receive_count >= 0 && m->sent_ms >= 0);
		}
		if (strstr(targets[t], "Batch")) {
			REQUIRE(r.nentries == 5);
			for (i = 0; i < r.nentries; i++)
				REQUIRE(r.entries[i].ok == (r.entries[i].code == NULL));
		}
		if (t == 3 || t == 4)
			REQUIRE(r.value != NULL);
		sqs_result_clear(&r);
	}
	return 0;
}
