/* fuzz_s3_xml.c - libFuzzer target for what S3 and STS answer in XML:
 * s3_parse_list (ListObjectsV2), the error-body decoder shared by every
 * AWS call (S3/STS XML, and the JSON form), and xml_parse itself: no
 * crash, no document with a DTD or an entity, and error fields that are
 * always one bounded printable line. */
#include <libxml/tree.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"
#include "fuzz.h"
#include "s3.h"
#include "xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* NULL, or a short line of printable ASCII. */
static void fx_require_line(const char *s, size_t max)
{
	size_t i, n;

	if (!s)
		return;
	n = strlen(s);
	REQUIRE(n <= max);
	for (i = 0; i < n; i++)
		REQUIRE((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7F);
}

static void fx_require_code(const char *s)
{
	size_t i, n;

	if (!s)
		return;
	n = strlen(s);
	REQUIRE(n > 0 && n <= 128);
	for (i = 0; i < n; i++)
		REQUIRE(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-",
			       s[i]) != NULL);
}

/* No entity reference survives in a parsed tree (none may be declared). */
static void fx_require_no_entities(xmlNodePtr n, int depth)
{
	REQUIRE(depth <= XML_MAX_DEPTH + 1);
	for (; n; n = n->next) {
		REQUIRE(n->type != XML_ENTITY_REF_NODE && n->type != XML_ENTITY_DECL &&
			n->type != XML_DTD_NODE);
		if (n->type == XML_ELEMENT_NODE)
			fx_require_no_entities(n->children, depth + 1);
	}
}

static void fx_error_body(const char *p, size_t n, const char *content_type)
{
	struct aws_error e = {0};

	aws_error_parse_body(p, n, content_type, &e);
	fx_require_code(e.code);
	fx_require_line(e.message, 512);
	fx_require_code(e.request_id);
	aws_error_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	char **keys, *next;
	size_t nkeys, i;
	xmlDocPtr doc;

	if (s3_parse_list(p, size, &keys, &nkeys, &next) == 0) {
		REQUIRE(nkeys == 0 || keys != NULL);
		for (i = 0; i < nkeys; i++) {
			REQUIRE(keys[i] != NULL);
			free(keys[i]);
		}
		REQUIRE(!next || *next);
		free(keys);
		free(next);
	} else {
		REQUIRE(!keys && nkeys == 0 && !next);
	}

	fx_error_body(p, size, NULL);
	fx_error_body(p, size, "application/x-amz-json-1.0");
	fx_error_body(p, size, "application/xml");

	doc = xml_parse(p, size);
	if (doc) {
		REQUIRE(!doc->intSubset && !doc->extSubset);
		REQUIRE(xmlDocGetRootElement(doc) != NULL);
		fx_require_no_entities(doc->children, 0);
		xmlFreeDoc(doc);
	}
	return 0;
}
