/* xml.c - the only place libxml2 is configured: safe parse options for every
 * XML answer from S3 and STS. */
#include "xml.h"

#include <libxml/parser.h>
#include <string.h>

#include "util.h"

static void xml_silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

void xml_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	xmlInitParser();
	/* Parse errors are reported by our callers, not printed by libxml2. */
	xmlSetGenericErrorFunc(NULL, xml_silent);
}

static int depth_ok(xmlNodePtr n, int depth)
{
	xmlNodePtr c;

	if (depth > XML_MAX_DEPTH)
		return 0;
	for (c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !depth_ok(c, depth + 1))
			return 0;
	return 1;
}

xmlDocPtr xml_parse(const char *body, size_t len)
{
	/* No XML_PARSE_NOENT (entities stay unexpanded), no XML_PARSE_DTDLOAD,
	 * no XML_PARSE_DTDATTR, no XML_PARSE_HUGE; XML_PARSE_NONET forbids
	 * network access. A document with a DTD is refused outright. */
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
			 XML_PARSE_NOCDATA;
	xmlDocPtr doc;

	xml_init();
	if (!body || len == 0 || len > XML_MAX_BODY)
		return NULL;
	/* AWS never sends a DTD: refuse one before libxml2 sees its entity
	 * declarations, so no entity is ever parsed, whatever the library's
	 * own amplification limits are. (In text, '<' is always escaped.) */
	if (memmem(body, len, "<!DOCTYPE", 9) || memmem(body, len, "<!ENTITY", 8))
		return NULL;
	doc = xmlReadMemory(body, (int)len, "aws.xml", NULL, opts);
	if (!doc)
		return NULL;
	if (doc->intSubset || doc->extSubset || !xmlDocGetRootElement(doc) ||
	    !depth_ok(xmlDocGetRootElement(doc), 1)) {
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

xmlNodePtr xml_child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr c;

	if (!parent)
		return NULL;
	for (c = parent->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

char *xml_child_text(xmlNodePtr parent, const char *name)
{
	xmlNodePtr c = xml_child(parent, name);
	xmlChar *txt;
	char *out;

	if (!c)
		return NULL;
	txt = xmlNodeGetContent(c);
	if (!txt)
		return xstrdup("");
	out = xstrdup((const char *)txt);
	xmlFree(txt);
	return out;
}
