/* test_util.c - the bounded buffer (appends up to its maximum and not past
 * it, byte by byte or reserved ahead), decimal integers, hex and SHA-256. */
#include "util.h"

#include <stdlib.h>

#include "check.h"

static void test_buf_max(void)
{
	struct buf b;
	int i;

	buf_init(&b, 5);
	for (i = 0; i < 5; i++)
		CHECK_INT(buf_addc(&b, (char)('a' + i)), 0);
	CHECK_INT(buf_addc(&b, 'x'), -1);
	CHECK_INT(buf_add(&b, "", 0), 0);
	CHECK_INT(b.len, 5);
	CHECK_STR(buf_str(&b), "abcde");
	buf_reset(&b);
	CHECK_INT(buf_reserve(&b, 6), -1);
	CHECK_INT(buf_reserve(&b, 5), 0);
	CHECK(b.cap >= 6);
	CHECK_INT(buf_adds(&b, "12345"), 0);
	CHECK_INT(buf_addc(&b, '6'), -1);
	CHECK_STR(buf_str(&b), "12345");
	buf_free(&b);
	/* a reserved but empty buffer reads as "" */
	buf_init(&b, 0);
	CHECK_INT(buf_reserve(&b, 100), 0);
	CHECK_STR(buf_str(&b), "");
	buf_free(&b);

	/* byte by byte across many grows, plain and secret */
	buf_init(&b, 0);
	for (i = 0; i < 1000; i++)
		CHECK_INT(buf_addc(&b, (char)('0' + i % 10)), 0);
	CHECK(b.len == 1000 && b.data[1000] == '\0' && b.data[999] == '9');
	buf_free(&b);
	buf_init_secret(&b, 0);
	for (i = 0; i < 300; i++)
		buf_addc(&b, 's');
	CHECK(b.len == 300 && strspn(buf_str(&b), "s") == 300);
	buf_free(&b);
}

static void test_add_i64(void)
{
	static const struct {
		int64_t v;
		const char *s;
	} cases[] = {
		{0, "0"},
		{7, "7"},
		{-7, "-7"},
		{10, "10"},
		{1796292000000LL, "1796292000000"},
		{INT64_MAX, "9223372036854775807"},
		{INT64_MIN, "-9223372036854775808"},
	};
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_reset(&b);
		CHECK_INT(buf_add_i64(&b, cases[i].v), 0);
		CHECK_STR(buf_str(&b), cases[i].s);
	}
	buf_free(&b);
	buf_init(&b, 2);
	CHECK_INT(buf_add_i64(&b, 123), -1);
	CHECK_INT(b.len, 0);
	buf_free(&b);
}

static void test_hashes(void)
{
	char hex[SHA256_HEX_LEN + 1];
	uint8_t mac[SHA256_LEN];

	sha256_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* RFC 4231 test case 2 */
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex_encode(mac, sizeof(mac), hex);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_strjoin(void)
{
	char *s = xstrjoin("/", "bucket", "/", "a key", NULL);

	CHECK_STR(s, "/bucket/a key");
	free(s);
	s = xstrjoin("", NULL);
	CHECK_STR(s, "");
	free(s);
}

int main(void)
{
	test_strjoin();
	test_buf_max();
	test_add_i64();
	test_hashes();
	return check_done("test_util");
}
