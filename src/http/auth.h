/*
 * Basic-auth password checks for serve: bcrypt (libxcrypt's crypt_r) on a
 * worker thread, so a slow hash or a flood of bad passwords never holds up
 * the Lua thread, and a bounded cache of the checks that succeeded, so a
 * scraper that keeps its password pays for one hash, not one per scrape.
 *
 * The caller's thread owns the cache and submits checks; results come back
 * through mw_auth_take, announced by mw_auth_fd becoming readable. Only
 * crypt_r runs on the worker.
 */
#ifndef MEMWATCH_HTTP_AUTH_H
#define MEMWATCH_HTTP_AUTH_H

#include <stddef.h>

/* At most this many checks queued or running: beyond it, submit says -EAGAIN. */
#define MW_AUTH_INFLIGHT 8
/* Successful checks remembered (user, password and hash, as a SHA-256). */
#define MW_AUTH_CACHE 64
/* bcrypt reads 72 bytes of a password; a longer one never matches rather
 * than matching on its first 72 bytes. */
#define MW_AUTH_MAX_PASSWORD 72

struct mw_auth;

/* Whether this build can check bcrypt hashes (libxcrypt's crypt_r). */
int mw_auth_available(void);

int mw_auth_start(struct mw_auth **out);

/* Stops the worker (after the check it is running); the checks not yet
 * started come back from mw_auth_take with ok = -1 (not checked). */
void mw_auth_stop(struct mw_auth *a);

void mw_auth_free(struct mw_auth *a);

int mw_auth_fd(const struct mw_auth *a);

/* 1 when user, password and hash are a remembered success. */
int mw_auth_cached(struct mw_auth *a, const char *user, const char *password, const char *hash);

/* Queues a check of password against hash (NULL: an unknown user, checked
 * against a decoy so it takes as long, and failing). tag comes back with the
 * result. Returns 0, -EAGAIN when MW_AUTH_INFLIGHT checks are pending, or
 * -ESHUTDOWN after mw_auth_stop. */
int mw_auth_submit(struct mw_auth *a, const char *user, const char *password, const char *hash,
                   void *tag);

/* One result: 1 and *tag, *ok set (1 a match, remembered in the cache; 0 no
 * match; -1 not checked, after mw_auth_stop), or 0 when none is waiting. */
int mw_auth_take(struct mw_auth *a, void **tag, int *ok);

/* Clears n bytes of a secret in a way the compiler may not drop
 * (explicit_bzero is not on macOS). */
void mw_auth_wipe(void *p, size_t n);

#endif
