/* test_fuzz_regressions.c - replays every fuzz target's seed corpus and
 * regression inputs (tests/fuzz/corpus/fuzz_NAME/, tests/fuzz/regressions/
 * fuzz_NAME/) through the same entry functions the fuzzers use, so inputs
 * that once crashed stay fixed in the ordinary build, under ASan/UBSan and
 * under valgrind, without clang or libFuzzer. A target's failed check traps:
 * the last "replay:" line names the input. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LLVMFuzzerTestOneInput fuzz_config_one
#include "../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_creds_one
#include "../fuzz/fuzz_creds.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_http_response_one
#include "../fuzz/fuzz_http_response.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_json_one
#include "../fuzz/fuzz_json.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_layout_one
#include "../fuzz/fuzz_layout.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_message_one
#include "../fuzz/fuzz_message.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_s3_xml_one
#include "../fuzz/fuzz_s3_xml.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_sigv4_one
#include "../fuzz/fuzz_sigv4.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_sqs_one
#include "../fuzz/fuzz_sqs.c"
#undef LLVMFuzzerTestOneInput

static const struct {
	const char *name;
	int (*one)(const uint8_t *data, size_t size);
} fuzz_targets[] = {
	{"fuzz_config", fuzz_config_one},   {"fuzz_creds", fuzz_creds_one},
	{"fuzz_http_response", fuzz_http_response_one},
	{"fuzz_json", fuzz_json_one},       {"fuzz_layout", fuzz_layout_one},
	{"fuzz_message", fuzz_message_one}, {"fuzz_s3_xml", fuzz_s3_xml_one},
	{"fuzz_sigv4", fuzz_sigv4_one},     {"fuzz_sqs", fuzz_sqs_one},
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir through one(); returns how many, -1 on a
 * read error. A missing folder is none. */
static int replay_dir(const char *dir, int (*one)(const uint8_t *, size_t))
{
	char **names = NULL, *path;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	int count = 0;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, "README", 6) == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n && count >= 0; i++) {
		struct buf data;
		FILE *f;
		char chunk[4096];
		size_t got;

		path = xasprintf("%s/%s", dir, names[i]);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		f = fopen(path, "rb");
		if (!f) {
			fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
			free(path);
			count = -1;
			break;
		}
		buf_init(&data, 0);
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_add(&data, chunk, got);
		fclose(f);
		printf("replay: %s (%zu bytes)\n", path, data.len);
		fflush(stdout);
		/* a copy of exactly the file's size, as libFuzzer passes it, so
		 * ASan and valgrind see any read past the end */
		{
			uint8_t *exact = xmalloc(data.len ? data.len : 1);

			if (data.len)
				memcpy(exact, data.data, data.len);
			one(exact, data.len);
			free(exact);
		}
		buf_free(&data);
		free(path);
		count++;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return count;
}

int main(void)
{
	const char *src = getenv("S3S_SOURCE_DIR");
	char *root, *dir;
	size_t i;
	int total = 0, k;

	if (src && *src) {
		root = xstrdup(src);
	} else {
		/* __FILE__ is .../tests/unit/test_fuzz_regressions.c */
		const char *cut = strstr(__FILE__, "tests/unit/");

		root = cut ? xstrndup(__FILE__, (size_t)(cut - __FILE__)) : xstrdup(".");
	}
	for (i = 0; i < ARRAY_SIZE(fuzz_targets); i++) {
		const char *kinds[] = {"corpus", "regressions"};
		size_t j;

		for (j = 0; j < 2; j++) {
			dir = xasprintf("%s/tests/fuzz/%s/%s", root, kinds[j], fuzz_targets[i].name);
			k = replay_dir(dir, fuzz_targets[i].one);
			if (k < 0) {
				fprintf(stderr, "test_fuzz_regressions: cannot read %s\n", dir);
				return 1;
			}
			free(dir);
			total += k;
		}
	}
	free(root);
	printf("test_fuzz_regressions: %d inputs replayed through %zu targets, no crash\n", total,
	       ARRAY_SIZE(fuzz_targets));
	/* the seed corpora exist: replaying nothing would prove nothing */
	return total > 0 ? 0 : 1;
}
