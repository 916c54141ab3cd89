/* fuzz.h - what every libFuzzer target in tests/fuzz/ shares: the entry
 * point's prototype and REQUIRE, which traps so libFuzzer (and the replay
 * in tests/unit/test_fuzz_regressions.c) reports the input. Targets keep
 * their static names unique (prefixed) so the replay test can include them
 * all in one program. */
#ifndef S3S_FUZZ_H
#define S3S_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#endif
