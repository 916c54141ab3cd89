/* xml.h - libxml2 with safe options only: no entity expansion, no DTD
 * loading, no network, bounded size and depth. */
#ifndef S3S_XML_H
#define S3S_XML_H

#include <libxml/tree.h>
#include <stddef.h>

#define XML_MAX_BODY (4u * 1024 * 1024)
#define XML_MAX_DEPTH 32

/* Parse a document; NULL when it is too large, too deep or not well-formed. */
xmlDocPtr xml_parse(const char *body, size_t len);
/* First element child of parent with this local name (any namespace), or NULL. */
xmlNodePtr xml_child(xmlNodePtr parent, const char *name);
/* Text of the first child element `name` as a new string, or NULL. */
char *xml_child_text(xmlNodePtr parent, const char *name);
/* Process-wide libxml2 setup (no-op after the first call). */
void xml_init(void);

#endif
