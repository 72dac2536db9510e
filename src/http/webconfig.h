/*
 * The exporter-toolkit web configuration (--web-config=FILE, the format of
 * node_exporter's --web.config.file): YAML text in, a checked struct out.
 *
 * Pure: no file is opened here. Every value is checked as far as text alone
 * allows (names, versions, suites, curves, hashes, header values, which keys
 * go together); what needs the file system or GnuTLS (reading cert_file,
 * loading the key) is the caller's, with the line numbers kept here for its
 * messages. A key of the schema that memwatch cannot honour is refused, as is
 * any key outside it.
 */
#ifndef MEMWATCH_HTTP_WEBCONFIG_H
#define MEMWATCH_HTTP_WEBCONFIG_H

#include <stddef.h>

#define MW_WEBCONFIG_MAX_USERS   1024
#define MW_WEBCONFIG_MAX_LIST    64
#define MW_WEBCONFIG_MAX_HEADERS 5
#define MW_WEBCONFIG_PRIORITIES  512

enum mw_client_auth {
    MW_CLIENT_AUTH_NONE = 0,           /* NoClientCert */
    MW_CLIENT_AUTH_VERIFY_IF_GIVEN,    /* VerifyClientCertIfGiven */
    MW_CLIENT_AUTH_REQUIRE_AND_VERIFY, /* RequireAndVerifyClientCert */
};

/* A scalar and the line it was on; text is NULL when the key is absent. */
struct mw_webconfig_value {
    char *text;
    int line;
};

struct mw_webconfig_list {
    char **items;
    size_t n;
    int line;
};

struct mw_webconfig_user {
    char *name;
    char *hash; /* bcrypt: $2a$, $2b$ or $2y$, checked for shape */
    int line;
};

struct mw_webconfig_header {
    const char *name; /* one of the names exporter-toolkit allows */
    char *value;
    int line;
};

struct mw_webconfig {
    /* tls_server_config; tls is set when any of it asks for TLS. */
    int tls;
    int tls_line;
    struct mw_webconfig_value cert_file, key_file, cert, key, client_ca_file, client_ca;
    enum mw_client_auth client_auth;
    struct mw_webconfig_list client_allowed_sans;
    /* GnuTLS priorities from min/max_version, cipher_suites, curve_preferences
     * and prefer_server_cipher_suites. */
    char priorities[MW_WEBCONFIG_PRIORITIES];

    /* http_server_config */
    int http2; /* 1 unless the file says false (exporter-toolkit's default) */
    int http2_line;
    struct mw_webconfig_header headers[MW_WEBCONFIG_MAX_HEADERS];
    size_t nheaders;

    struct mw_webconfig_user *users;
    size_t nusers;

    /* rate_limit: a token bucket; interval 0 turns it off. */
    double rate_interval;
    long rate_burst;
};

/*
 * Parses len bytes of YAML. name is used in messages only. Returns 0, or
 * -EINVAL with "NAME:LINE: message" in err (line 1-based), or -ENOMEM.
 * The struct is always left safe to pass to mw_webconfig_free.
 */
int mw_webconfig_parse(const char *text, size_t len, const char *name, struct mw_webconfig *out,
                       char *err, size_t errlen);

void mw_webconfig_free(struct mw_webconfig *cfg);

/* Whether hash has the shape of a bcrypt hash ($2a$/$2b$/$2y$, cost 04..31). */
int mw_webconfig_bcrypt_shape(const char *hash);

#endif
