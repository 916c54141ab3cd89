/* fuzz_config.c - libFuzzer target for the config file parser: the input is
 * a config file's text, parsed with config_load_text (no flags, no
 * environment). A file that loads must dump to a file that loads to the same
 * dump. Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *     tests/fuzz/fuzz_config.c src/config.c src/creds.c src/util.c src/log.c \
 *     -lssl -lcrypto -o fuzz_config
 *   ./fuzz_config -max_total_time=30 tests/fuzz/corpus/fuzz_config */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config a, b;
	struct buf err, d1, d2;
	int rc;

	buf_init(&err, 0);
	buf_init(&d1, 0);
	buf_init(&d2, 0);
	rc = config_load_text(&a, NULL, "fuzz", (const char *)data, size, &err);
	if (rc == 0) {
		if (err.len != 0)
			abort();
		if (config_dump(&a, &d1) == 0) {
			if (config_load_text(&b, NULL, "dump", d1.data, d1.len, &err) != 0) {
				fprintf(stderr, "dump does not load: %s\n%s", buf_str(&err),
					d1.data);
				abort();
			}
			config_dump(&b, &d2);
			if (strcmp(buf_str(&d1), buf_str(&d2)) != 0)
				abort();
			config_free(&b);
		}
		config_free(&a);
	} else {
		/* Errors are exactly one short line starting "config: ". */
		if (rc != 2 || strncmp(buf_str(&err), "config: ", 8) != 0 ||
		    memchr(err.data, '\n', err.len) || memchr(err.data, '\r', err.len) ||
		    err.len > 1024)
			abort();
		if (a.prefix || a.statuses.n)
			abort();
	}
	buf_free(&err);
	buf_free(&d1);
	buf_free(&d2);
	return 0;
}
