/* json.h - a small strict RFC 8259 scanner and writer: validates whole
 * documents (UTF-8, escapes, number grammar, depth and member limits) without
 * converting anything, so values can be kept byte-for-byte. */
#ifndef S3S_JSON_H
#define S3S_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };
/* "null", "boolean", "number", "string", "array", "object". */
const char *json_type_name(enum json_type t);

enum json_status {
	JSON_OK = 0,
	JSON_ERR_SYNTAX,  /* not RFC 8259 JSON (incl. bad UTF-8, lone surrogates) */
	JSON_ERR_DEPTH,   /* nesting deeper than max_depth */
	JSON_ERR_MEMBERS, /* an object with more than max_members members */
};

#define JSON_DEFAULT_MAX_DEPTH 64

struct json_limits {
	int max_depth;      /* containers nested inside each other; <= 0: 64 */
	size_t max_members; /* members of any one object; 0: unlimited */
};

struct json_error {
	enum json_status status;
	size_t offset;    /* byte offset where the problem was found */
	const char *what; /* static text, e.g. "invalid UTF-8 in string" */
};

/* Validate that p[0..n) is exactly one JSON value with optional surrounding
 * whitespace. Iterative: memory is O(max_depth), time O(n). err may be NULL. */
enum json_status json_validate(const char *p, size_t n, const struct json_limits *lim,
			       struct json_error *err);

/* The value of a validated document without its surrounding whitespace. */
void json_trim(const char **p, size_t *n);
/* Type of a validated value (by its first byte). */
enum json_type json_type_of(const char *p, size_t n);

/* Iterate the members of a validated object value p[0..n) (as returned by
 * json_trim or as a member value). The key is unescaped into it->key, which
 * stays valid until the next call; value is the raw byte span of the value. */
struct json_iter {
	const char *p;
	size_t n;
	size_t i;
	struct buf key;
};
struct json_member {
	const char *key; /* unescaped, NUL-terminated (may contain NUL from \u0000) */
	size_t key_len;
	const char *value; /* raw bytes, no surrounding whitespace */
	size_t value_len;
	enum json_type type;
};
/* Returns -1 if p is not an object. json_iter_free must be called either way. */
int json_iter_init(struct json_iter *it, const char *p, size_t n);
/* 1 with a member, 0 at the end of the object. */
int json_iter_next(struct json_iter *it, struct json_member *m);
void json_iter_free(struct json_iter *it);

/* Iterate the elements of a validated array value p[0..n) (surrounding
 * whitespace allowed). Nothing is allocated: no free is needed. */
struct json_elems {
	const char *p;
	size_t n;
	size_t i;
};
/* Returns -1 if p is not an array. */
int json_elems_init(struct json_elems *it, const char *p, size_t n);
/* 1 with the next element's raw bytes (no surrounding whitespace) in
 * *value and *len, 0 at the end of the array. */
int json_elems_next(struct json_elems *it, const char **value, size_t *len);

/* Append the unescaped contents of the string token raw[0..n) (quotes
 * included) to out as UTF-8. -1 on a malformed token or when out is full. */
int json_unescape(struct buf *out, const char *raw, size_t n);

/* Append s[0..n) as a JSON string: quotes, '"' and '\\' escaped, control
 * characters as \u00xx. Input should be valid UTF-8; any invalid sequence is
 * written as U+FFFD (maximal subparts, as Unicode recommends) so the output is
 * always valid JSON. -1 when out is full (out then holds a partial string). */
int json_write_string(struct buf *out, const char *s, size_t n);

/* Length of the valid UTF-8 sequence at p[0..n) (1..4), or 0 if invalid, in
 * which case *bad (if not NULL) is the length of the invalid maximal subpart
 * (>= 1). Overlongs, surrogates and code points above U+10FFFF are invalid. */
size_t json_utf8_seq(const unsigned char *p, size_t n, size_t *bad);
/* Whole buffer is valid UTF-8 (NUL bytes allowed). */
bool json_utf8_valid(const char *p, size_t n);

#endif
