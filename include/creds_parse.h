/* creds_parse.h - pure parsers for what credential endpoints answer: the JSON
 * document of EC2 instance metadata and the ECS container endpoint, and the
 * XML of STS AssumeRoleWithWebIdentity. (pointer, length) in, credentials out. */
#ifndef S3S_CREDS_PARSE_H
#define S3S_CREDS_PARSE_H

#include <stddef.h>

#include "creds.h"
#include "util.h"

/* Largest answer a provider accepts (the HTTP response cap). */
#define CREDS_MAX_DOC ((size_t)64 * 1024)
/* Largest access key id / secret key, and session token, accepted. */
#define CREDS_MAX_KEY	256
#define CREDS_MAX_TOKEN ((size_t)16 * 1024)

/* The instance-metadata / container document:
 *   {"Code": "Success", "AccessKeyId": "ASIA...", "SecretAccessKey": "...",
 *    "Token": "...", "Expiration": "2026-12-03T16:00:00Z", ...}
 * AccessKeyId, SecretAccessKey, Token and Expiration are required (strings;
 * keys printable ASCII without spaces; Expiration RFC 3339); "Code", when
 * present, must be "Success"; other members are ignored; a duplicate of a
 * used member is an error. out must be empty ({0}); on success it owns new
 * strings (source stays NULL) and 0 is returned. On failure: -1, out stays
 * empty and why holds one line that never quotes a secret. */
int creds_parse_json(const char *p, size_t n, struct aws_creds *out, struct buf *why);

/* An STS AssumeRoleWithWebIdentity answer: AssumeRoleWithWebIdentityResponse/
 * AssumeRoleWithWebIdentityResult/Credentials/{AccessKeyId, SecretAccessKey,
 * SessionToken, Expiration}, all required. Returns 0 with out filled as
 * above, or -1 with one line in why. For an <ErrorResponse> why is
 * "CODE: MESSAGE" (cut and made printable) and code, when not NULL, receives
 * the error code alone. The parsed document's copies of the secrets are
 * wiped before it is freed. */
int creds_parse_sts(const char *p, size_t n, struct aws_creds *out, struct buf *code,
		    struct buf *why);

/* Append at most max bytes of s[0..n) with anything outside printable ASCII
 * written as '?' (for peer-controlled text in error lines). */
void creds_add_printable(struct buf *b, const char *s, size_t n, size_t max);

#endif
