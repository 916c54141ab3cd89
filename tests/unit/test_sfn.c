/* test_sfn.c - Step Functions: the SendTaskSuccess output object, the API
 * limits (token, output) refused before anything is sent, and error/cause
 * truncation that never splits a UTF-8 character. */
#include "sfn.h"

#include "check.h"
#include "json.h"

static void test_success_output(void)
{
	struct buf b;

	buf_init(&b, 0);
	CHECK_INT(sfn_success_output(&b, "P/BATCHS/b1/tasks/t%2F1/success/20261203T100000.000Z_m.json",
				     "success", "b1", "t/1"),
		  0);
	CHECK_STR(buf_str(&b), "{\"s3_key\":\"P/BATCHS/b1/tasks/t%2F1/success/"
			       "20261203T100000.000Z_m.json\",\"status\":\"success\","
			       "\"batch_id\":\"b1\",\"task_id\":\"t/1\"}");
	CHECK_INT(sfn_success_output(&b, "k", "running", "b \"q\"\xC3\xA9", NULL), 0);
	CHECK_STR(buf_str(&b), "{\"s3_key\":\"k\",\"status\":\"running\","
			       "\"batch_id\":\"b \\\"q\\\"\xC3\xA9\",\"task_id\":null}");
	CHECK(sfn_check_output(b.data, b.len) == NULL);
	buf_free(&b);
	/* A full buffer leaves it empty. */
	buf_init(&b, 16);
	CHECK_INT(sfn_success_output(&b, "a-key-longer-than-sixteen", "s", "b", NULL), -1);
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

static void test_token_limits(void)
{
	char *tok = xmalloc(SFN_MAX_TOKEN + 2);

	memset(tok, 'A', SFN_MAX_TOKEN + 1);
	tok[SFN_MAX_TOKEN + 1] = '\0';
	CHECK(sfn_check_token(tok) != NULL); /* 2049 bytes */
	tok[SFN_MAX_TOKEN] = '\0';
	CHECK(sfn_check_token(tok) == NULL); /* 2048 */
	CHECK(sfn_check_token("x") == NULL);
	CHECK(sfn_check_token("") != NULL);
	CHECK(sfn_check_token(NULL) != NULL);
	CHECK(sfn_check_token("ab\ncd") != NULL);
	CHECK(sfn_check_token("ab\xFF") != NULL);
	/* Refused before the client is touched: no op, no callback. */
	CHECK(sfn_task_heartbeat(NULL, "", NULL, NULL) == NULL);
	CHECK(sfn_task_failure(NULL, "a\tb", "E", "c", NULL, NULL) == NULL);
	CHECK(sfn_task_success(NULL, "", "{}", 2, NULL, NULL) == NULL);
	free(tok);
}

static void test_output_limits(void)
{
	char *big = xmalloc(SFN_MAX_OUTPUT + 2);

	CHECK(sfn_check_output("{}", 2) == NULL);
	CHECK(sfn_check_output("\"s\"", 3) == NULL);
	CHECK(sfn_check_output("{", 1) != NULL);
	CHECK(sfn_check_output("", 0) != NULL);
	CHECK(sfn_check_output(NULL, 0) != NULL);
	/* "xxxx...": exactly 256 KiB is fine, one more byte is not. */
	big[0] = '"';
	memset(big + 1, 'x', SFN_MAX_OUTPUT - 2);
	big[SFN_MAX_OUTPUT - 1] = '"';
	CHECK(sfn_check_output(big, SFN_MAX_OUTPUT) == NULL);
	big[SFN_MAX_OUTPUT - 1] = 'x';
	big[SFN_MAX_OUTPUT] = '"';
	CHECK(sfn_check_output(big, SFN_MAX_OUTPUT + 1) != NULL);
	CHECK(sfn_task_success(NULL, "tok", big, SFN_MAX_OUTPUT + 1, NULL, NULL) == NULL);
	CHECK(sfn_task_success(NULL, "tok", "{", 1, NULL, NULL) == NULL);
	free(big);
}

static void test_truncate(void)
{
	struct buf b;
	char *cause;
	size_t i;

	buf_init(&b, 0);
	CHECK_INT(sfn_truncate(&b, "short", 5, 10, "..."), 0);
	CHECK_STR(buf_str(&b), "short");
	buf_reset(&b);
	CHECK_INT(sfn_truncate(&b, "0123456789", 10, 10, "..."), 0);
	CHECK_STR(buf_str(&b), "0123456789"); /* exactly the limit: kept */
	buf_reset(&b);
	CHECK_INT(sfn_truncate(&b, "0123456789A", 11, 10, "..."), 0);
	CHECK_STR(buf_str(&b), "0123456...");
	/* A 2-byte character straddling the cut is dropped whole. */
	buf_reset(&b);
	CHECK_INT(sfn_truncate(&b, "abcdef\xC3\xA9xyz", 12, 10, "..."), 0);
	CHECK_STR(buf_str(&b), "abcdef...");
	/* A 4-byte one too. */
	buf_reset(&b);
	CHECK_INT(sfn_truncate(&b, "ab\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 10, 8, "~"), 0);
	CHECK_STR(buf_str(&b), "ab\xF0\x9F\x98\x80~");
	/* Invalid bytes become U+FFFD, which counts for 3 bytes. */
	buf_reset(&b);
	CHECK_INT(sfn_truncate(&b, "a\xFF" "b", 3, 10, "..."), 0);
	CHECK_STR(buf_str(&b), "a\xEF\xBF\xBD" "b");
	/* No marker: plain cut. A marker larger than the limit is dropped. */
	buf_reset(&b);
	CHECK_INT(sfn_truncate(&b, "abcdef", 6, 4, NULL), 0);
	CHECK_STR(buf_str(&b), "abcd");
	buf_reset(&b);
	CHECK_INT(sfn_truncate(&b, "abcdef", 6, 2, "[truncated]"), 0);
	CHECK_STR(buf_str(&b), "ab");

	/* A cause of 40,000 "é": at most 32,768 bytes, valid UTF-8, marked. */
	cause = xmalloc(80001);
	for (i = 0; i < 40000; i++) {
		cause[2 * i] = '\xC3';
		cause[2 * i + 1] = '\xA9';
	}
	cause[80000] = '\0';
	buf_reset(&b);
	CHECK_INT(sfn_truncate(&b, cause, 80000, SFN_MAX_CAUSE, " ... [truncated]"), 0);
	CHECK(b.len <= SFN_MAX_CAUSE && b.len > SFN_MAX_CAUSE - 20);
	CHECK(json_utf8_valid(b.data, b.len));
	CHECK(strcmp(b.data + b.len - 16, " ... [truncated]") == 0);
	free(cause);
	/* A full output buffer: -1 and unchanged. */
	buf_free(&b);
	buf_init(&b, 4);
	buf_adds(&b, "ab");
	CHECK_INT(sfn_truncate(&b, "cdefgh", 6, 6, NULL), -1);
	CHECK_STR(buf_str(&b), "ab");
	buf_free(&b);
}

int main(void)
{
	test_success_output();
	test_token_limits();
	test_output_limits();
	test_truncate();
	return check_done("test_sfn");
}
