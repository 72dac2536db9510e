/*
 * Finding the secrets in a URL: internal to the delivery library, shared by
 * mw_delivery_redact_url (delivery.h) and the scrubbing of error texts,
 * which may quote parts of a URL (a host, a path) that libcurl put there.
 */
#ifndef MW_DELIVERY_REDACT_H
#define MW_DELIVERY_REDACT_H

#include <stddef.h>

/*
 * The first secret of url that starts at or after offset from: sets
 * [*start, *end) and returns 1, or returns 0 when there is none. Secrets are
 * the userinfo, values of credential-carrying query (and fragment)
 * parameters, and the token segments of Slack and Discord webhook paths.
 */
int mw_redact_next(const char *url, size_t from, size_t *start, size_t *end);

/*
 * Copy text into buf with every occurrence of a secret of url (at least
 * four characters long, so "***" never stands for a stray letter) replaced
 * by "***". 0, or -ENOSPC when buf was too small (truncated, NUL-terminated).
 */
int mw_redact_text(const char *url, const char *text, char *buf, size_t len);

#endif
