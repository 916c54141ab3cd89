/* app.h - what the daemon and the CLI share at start-up: configuration,
 * credentials, region, endpoints, and the AWS clients on one event loop. */
#ifndef S3S_APP_H
#define S3S_APP_H

#include <stdbool.h>

#include "aws.h"
#include "config.h"
#include "creds.h"
#include "http.h"
#include "loop.h"
#include "retry.h"
#include "s3.h"
#include "sqs.h"

struct app {
	struct config cfg;
	struct config_source src;
	struct loop *loop;
	struct http *http;
	struct creds_chain *creds;
	struct retry retry;
	struct aws_client *aws;
	struct aws_endpoint sqs_ep, s3_ep;
	struct sqs *sqs;
	struct s3 *s3;
	char *queue_url; /* resolved */
	char *dlq_url;   /* resolved, NULL when none */
};

/* Exit statuses shared by both programs. */
enum { EXIT_OK = 0, EXIT_FAILURE_RUNTIME = 1, EXIT_CONFIG = 2 };

/* Everything after config_load: credentials, region, endpoints, clients.
 * Returns 0, or an exit status after printing one line to stderr. */
int app_open(struct app *a);
void app_close(struct app *a);

/* Resolve queue_url / dlq_url given as names (GetQueueUrl). 0 or an exit status. */
int app_resolve_queues(struct app *a);
/* Reach the queue, the DLQ and the bucket; prints one line per check when
 * verbose. Returns 0 or an exit status. */
int app_check_access(struct app *a, bool verbose);

/* Run the loop until *done becomes true (for the CLI's sequential calls). */
void app_wait(struct app *a, const bool *done);

#endif
