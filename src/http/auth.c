/* Basic-auth checks on a worker thread, with a cache of successes (auth.h). */
#include "http/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef MW_HAVE_GNUTLS
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#endif

#ifdef MW_HAVE_XCRYPT
#include <crypt.h>
#endif

#define DIGEST 32 /* SHA-256 */

void mw_auth_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* A bcrypt hash of a random password nobody knows, cost 10 like the hashes
 * htpasswd makes: an unknown user costs a check like a known one. */
static const char decoy[] = "$2b$10$CwTycUXWue0Thq9StjUM0ucmpxgi2J8u.rFVh/awj5Z3fu91VtYFi";

struct job {
    char password[MW_AUTH_MAX_PASSWORD + 1];
    char hash[64];
    uint8_t key[DIGEST]; /* the cache key, for a success */
    int known;           /* 0: an unknown user, which fails whatever crypt says */
    int ok;
    void *tag;
};

struct mw_auth {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int started, stopping;
    int pipe[2]; /* a byte per result */
    struct job queue[MW_AUTH_INFLIGHT], done[MW_AUTH_INFLIGHT];
    size_t nqueue, ndone, inflight;
    uint8_t cache[MW_AUTH_CACHE][DIGEST];
    size_t ncache, next_slot;
};

int mw_auth_available(void)
{
#ifdef MW_HAVE_XCRYPT
    return 1;
#else
    return 0;
#endif
}

/* Compares without an early exit, so the time does not tell where they differ. */
static int same(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (uint8_t)(x[i] ^ y[i]);
    return diff == 0;
}

static int check(const char *password, const char *hash)
{
#ifdef MW_HAVE_XCRYPT
    struct crypt_data *data = calloc(1, sizeof *data);
    const char *out;
    size_t n = strlen(hash);
    int ok;
    if (!data)
        return 0;
    out = crypt_r(password, hash, data);
    ok = out && out[0] != '*' && strlen(out) == n && same(out, hash, n);
    mw_auth_wipe(data, sizeof *data);
    free(data);
    return ok;
#else
    (void)password;
    (void)hash;
    return 0;
#endif
}

static void *worker(void *arg)
{
    struct mw_auth *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        struct job j;
        char byte = 1;
        while (!a->stopping && a->nqueue == 0)
            pthread_cond_wait(&a->wake, &a->lock);
        if (a->stopping)
            break;
        j = a->queue[0];
        memmove(a->queue, a->queue + 1, (a->nqueue - 1) * sizeof a->queue[0]);
        a->nqueue--;
        pthread_mutex_unlock(&a->lock);
        j.ok = check(j.password, j.hash) && j.known;
        mw_auth_wipe(j.password, sizeof j.password);
        pthread_mutex_lock(&a->lock);
        a->done[a->ndone++] = j;
        /* The pipe has room: at most MW_AUTH_INFLIGHT bytes are ever unread. */
        if (write(a->pipe[1], &byte, 1) < 0) {
            /* nothing to do: the reader also looks at ndone */
        }
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

int mw_auth_start(struct mw_auth **out)
{
    struct mw_auth *a = calloc(1, sizeof *a);
    int rc;
    if (!a)
        return -ENOMEM;
    /* pipe and fcntl, not pipe2: macOS has no pipe2. Nothing here forks
     * meanwhile (serve starts this before any action can run a program). */
    if (pipe(a->pipe) < 0) {
        rc = -errno;
        free(a);
        return rc;
    }
    for (int i = 0; i < 2; i++) {
        if (fcntl(a->pipe[i], F_SETFD, FD_CLOEXEC) < 0 ||
            fcntl(a->pipe[i], F_SETFL, fcntl(a->pipe[i], F_GETFL) | O_NONBLOCK) < 0) {
            rc = -errno;
            close(a->pipe[0]);
            close(a->pipe[1]);
            free(a);
            return rc;
        }
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    rc = pthread_create(&a->thread, NULL, worker, a);
    if (rc != 0) {
        a->started = 0;
        mw_auth_free(a);
        return -rc;
    }
    a->started = 1;
    *out = a;
    return 0;
}

void mw_auth_stop(struct mw_auth *a)
{
    if (!a || !a->started)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = 1;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    a->started = 0;
    for (size_t i = 0; i < a->nqueue; i++) {
        mw_auth_wipe(a->queue[i].password, sizeof a->queue[i].password);
        a->queue[i].ok = -1;
        a->done[a->ndone++] = a->queue[i];
    }
    a->nqueue = 0;
}

void mw_auth_free(struct mw_auth *a)
{
    if (!a)
        return;
    mw_auth_stop(a);
    close(a->pipe[0]);
    close(a->pipe[1]);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->wake);
    mw_auth_wipe(a->cache, sizeof a->cache);
    free(a);
}

int mw_auth_fd(const struct mw_auth *a)
{
    return a->pipe[0];
}

static int cache_key(const char *user, const char *password, const char *hash, uint8_t key[DIGEST])
{
#ifndef MW_HAVE_GNUTLS
    /* Only built with GnuTLS (its SHA-256) is basic auth available at all. */
    (void)user, (void)password, (void)hash, (void)key;
    return -ENOTSUP;
#else
    gnutls_hash_hd_t h;
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
        return -ENOMEM;
    /* The NULs keep ("ab","c") and ("a","bc") apart. */
    gnutls_hash(h, user, strlen(user) + 1);
    gnutls_hash(h, password, strlen(password) + 1);
    gnutls_hash(h, hash, strlen(hash) + 1);
    gnutls_hash_deinit(h, key);
    return 0;
#endif
}

int mw_auth_cached(struct mw_auth *a, const char *user, const char *password, const char *hash)
{
    uint8_t key[DIGEST];
    int hit = 0;
    if (!hash || cache_key(user, password, hash, key) < 0)
        return 0;
    for (size_t i = 0; i < a->ncache; i++)
        hit |= same(a->cache[i], key, DIGEST);
    mw_auth_wipe(key, sizeof key);
    return hit;
}

int mw_auth_submit(struct mw_auth *a, const char *user, const char *password, const char *hash,
                   void *tag)
{
    struct job j;
    size_t plen = strlen(password);
    memset(&j, 0, sizeof j);
    j.tag = tag;
    j.known = hash != NULL && plen <= MW_AUTH_MAX_PASSWORD;
    if (plen <= MW_AUTH_MAX_PASSWORD)
        memcpy(j.password, password, plen + 1);
    if (!hash || strlen(hash) >= sizeof j.hash)
        hash = decoy;
    memcpy(j.hash, hash, strlen(hash) + 1);
    if (j.known && cache_key(user, password, hash, j.key) < 0)
        return -ENOMEM;
    pthread_mutex_lock(&a->lock);
    if (!a->started || a->stopping) {
        pthread_mutex_unlock(&a->lock);
        mw_auth_wipe(&j, sizeof j);
        return -ESHUTDOWN;
    }
    if (a->inflight >= MW_AUTH_INFLIGHT) {
        pthread_mutex_unlock(&a->lock);
        mw_auth_wipe(&j, sizeof j);
        return -EAGAIN;
    }
    a->queue[a->nqueue++] = j;
    a->inflight++;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    mw_auth_wipe(&j, sizeof j);
    return 0;
}

int mw_auth_take(struct mw_auth *a, void **tag, int *ok)
{
    struct job j;
    char buf[MW_AUTH_INFLIGHT];
    pthread_mutex_lock(&a->lock);
    if (a->ndone == 0) {
        /* Drained: empty the pipe so the next wait sleeps. */
        while (read(a->pipe[0], buf, sizeof buf) > 0) {
        }
        pthread_mutex_unlock(&a->lock);
        return 0;
    }
    j = a->done[0];
    memmove(a->done, a->done + 1, (a->ndone - 1) * sizeof a->done[0]);
    a->ndone--;
    a->inflight--;
    pthread_mutex_unlock(&a->lock);
    *tag = j.tag;
    *ok = j.ok;
    if (j.ok > 0) {
        memcpy(a->cache[a->next_slot], j.key, DIGEST);
        a->next_slot = (a->next_slot + 1) % MW_AUTH_CACHE;
        if (a->ncache < MW_AUTH_CACHE)
            a->ncache++;
    }
    mw_auth_wipe(&j, sizeof j);
    return 1;
}
