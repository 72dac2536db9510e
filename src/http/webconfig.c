/*
 * The web configuration parser: libyaml's events, walked once, into struct
 * mw_webconfig (webconfig.h). A recursive descent over the few mappings the
 * schema has; any other key stops the parse with its line.
 */
#include "http/webconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

struct parser {
    yaml_parser_t yaml;
    yaml_event_t ev;
    int have; /* ev holds an event to delete */
    const char *name;
    char *err;
    size_t errlen;
};

static int failf(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(struct parser *p, int line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(p->err, p->errlen, "%s:%d: ", p->name, line);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int line_of(const struct parser *p)
{
    return (int)p->ev.start_mark.line + 1;
}

static int next(struct parser *p)
{
    if (p->have)
        yaml_event_delete(&p->ev);
    p->have = 0;
    if (!yaml_parser_parse(&p->yaml, &p->ev)) {
        if (p->yaml.error == YAML_MEMORY_ERROR)
            return -ENOMEM;
        return failf(p, (int)p->yaml.problem_mark.line + 1, "not valid YAML: %s",
                     p->yaml.problem ? p->yaml.problem : "syntax error");
    }
    p->have = 1;
    /* Aliases would let a small file expand without bound; the schema needs none. */
    if (p->ev.type == YAML_ALIAS_EVENT)
        return failf(p, line_of(p), "YAML aliases (*name) are not supported");
    return 0;
}

static const char *scalar(const struct parser *p)
{
    return (const char *)p->ev.data.scalar.value;
}

/* An empty value, "~" or null: the key as if absent (as Go's YAML reads it). */
static int is_null(const struct parser *p)
{
    const char *s = scalar(p);
    return p->ev.type == YAML_SCALAR_EVENT && p->ev.data.scalar.plain_implicit &&
           (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
            strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

static char *dup_scalar(const struct parser *p)
{
    size_t n = p->ev.data.scalar.length;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, scalar(p), n);
        s[n] = '\0';
    }
    return s;
}

/* Whether the scalar holds a NUL byte (YAML allows "\0"; C strings do not). */
static int has_nul(const struct parser *p)
{
    return strlen(scalar(p)) != p->ev.data.scalar.length;
}

static int get_string(struct parser *p, const char *key, struct mw_webconfig_value *v)
{
    int rc;
    int line = line_of(p);
    if (v->line)
        return failf(p, line, "%s is given twice", key);
    v->line = line;
    if ((rc = next(p)) < 0)
        return rc;
    if (p->ev.type != YAML_SCALAR_EVENT)
        return failf(p, line_of(p), "%s: expected a string", key);
    if (is_null(p))
        return 0;
    if (has_nul(p))
        return failf(p, line_of(p), "%s: contains a NUL byte", key);
    v->text = dup_scalar(p);
    return v->text ? 0 : -ENOMEM;
}

static int get_bool(struct parser *p, const char *key, int *seen, int *out)
{
    int rc;
    const char *s;
    if (*seen)
        return failf(p, line_of(p), "%s is given twice", key);
    *seen = line_of(p);
    if ((rc = next(p)) < 0)
        return rc;
    if (p->ev.type != YAML_SCALAR_EVENT)
        return failf(p, line_of(p), "%s: expected true or false", key);
    s = scalar(p);
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        *out = 0;
    else
        return failf(p, line_of(p), "%s: expected true or false, got '%s'", key, s);
    return 0;
}

static int get_list(struct parser *p, const char *key, struct mw_webconfig_list *l)
{
    int rc;
    if (l->line)
        return failf(p, line_of(p), "%s is given twice", key);
    l->line = line_of(p);
    if ((rc = next(p)) < 0)
        return rc;
    if (is_null(p))
        return 0;
    if (p->ev.type != YAML_SEQUENCE_START_EVENT)
        return failf(p, line_of(p), "%s: expected a list", key);
    for (;;) {
        char *item;
        if ((rc = next(p)) < 0)
            return rc;
        if (p->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        if (p->ev.type != YAML_SCALAR_EVENT || has_nul(p))
            return failf(p, line_of(p), "%s: expected a list of strings", key);
        if (l->n >= MW_WEBCONFIG_MAX_LIST)
            return failf(p, line_of(p), "%s: more than %d entries", key, MW_WEBCONFIG_MAX_LIST);
        if (!l->items) {
            l->items = calloc(MW_WEBCONFIG_MAX_LIST, sizeof *l->items);
            if (!l->items)
                return -ENOMEM;
        }
        item = dup_scalar(p);
        if (!item)
            return -ENOMEM;
        l->items[l->n++] = item;
    }
}

/* ---- tls_server_config ------------------------------------------------------------ */

/* Go's TLS versions, as the file names them: index 1..4 (TLS 1.0 .. 1.3). */
static const char *const versions[] = {NULL, "TLS10", "TLS11", "TLS12", "TLS13"};

struct tls_text {
    struct mw_webconfig_value client_auth, min_version, max_version;
    struct mw_webconfig_list cipher_suites, curve_preferences;
    int prefer_seen, prefer;
};

static int get_version(struct parser *p, const struct mw_webconfig_value *v, int *out)
{
    for (int i = 1; i <= 4; i++) {
        if (strcmp(v->text, versions[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return failf(p, v->line, "unknown TLS version '%s' (expected TLS10, TLS11, TLS12 or TLS13)",
                 v->text);
}

/*
 * The cipher suites Go offers (crypto/tls CipherSuites(), the ones
 * exporter-toolkit accepts) for TLS 1.2 and below, as GnuTLS's key exchange,
 * cipher and MAC. GnuTLS enables those three separately, so a list means
 * every combination of its parts: that must be the list itself, or the file
 * would get more than it asked for.
 */
enum { KX_ECDSA = 1, KX_RSA = 2 };
enum { C_AES128CBC = 1, C_AES256CBC = 2, C_AES128GCM = 4, C_AES256GCM = 8, C_CHACHA = 16 };
enum { M_SHA1 = 1, M_AEAD = 2 };

static const struct suite {
    const char *name;
    unsigned kx, cipher, mac;
} suites[] = {
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", KX_ECDSA, C_AES128CBC, M_SHA1},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", KX_ECDSA, C_AES256CBC, M_SHA1},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", KX_RSA, C_AES128CBC, M_SHA1},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", KX_RSA, C_AES256CBC, M_SHA1},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", KX_ECDSA, C_AES128GCM, M_AEAD},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", KX_ECDSA, C_AES256GCM, M_AEAD},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", KX_RSA, C_AES128GCM, M_AEAD},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", KX_RSA, C_AES256GCM, M_AEAD},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", KX_ECDSA, C_CHACHA, M_AEAD},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", KX_RSA, C_CHACHA, M_AEAD},
};
#define NSUITES (sizeof suites / sizeof suites[0])

/* TLS 1.3's suites: always on, in Go as in GnuTLS. */
static const char *const tls13_suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                           "TLS_CHACHA20_POLY1305_SHA256"};

static const struct {
    const char *go, *gnutls;
} curves[] = {
    {"CurveP256", "GROUP-SECP256R1"},
    {"CurveP384", "GROUP-SECP384R1"},
    {"CurveP521", "GROUP-SECP521R1"},
    {"X25519", "GROUP-X25519"},
};

static int append(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf), m = strlen(s);
    if (n + m + 1 > cap)
        return -1;
    memcpy(buf + n, s, m + 1);
    return 0;
}

static int suite_priorities(struct parser *p, const struct mw_webconfig_list *l, int tls13,
                            char *prio, size_t cap)
{
    static const char *const kx_names[] = {"ECDHE-ECDSA", "ECDHE-RSA"};
    static const char *const cipher_names[] = {"AES-128-CBC", "AES-256-CBC", "AES-128-GCM",
                                               "AES-256-GCM", "CHACHA20-POLY1305"};
    static const char *const mac_names[] = {"SHA1", "AEAD"};
    unsigned kx = 0, cipher = 0, mac = 0, listed = 0;

    for (size_t i = 0; i < l->n; i++) {
        size_t j;
        int found = 0;
        for (j = 0; j < sizeof tls13_suites / sizeof tls13_suites[0]; j++)
            found |= strcmp(l->items[i], tls13_suites[j]) == 0;
        for (j = 0; !found && j < NSUITES; j++) {
            if (strcmp(l->items[i], suites[j].name) == 0) {
                found = 1;
                listed |= 1u << j;
                kx |= suites[j].kx;
                cipher |= suites[j].cipher;
                mac |= suites[j].mac;
            }
        }
        if (!found)
            return failf(p, l->line,
                         "cipher_suites: '%s' is not a cipher suite memwatch offers (the "
                         "ECDHE suites with AES-GCM, ChaCha20-Poly1305 or AES-CBC-SHA)",
                         l->items[i]);
    }
    if (!listed)
        return failf(p, l->line,
                     "cipher_suites: no suite for TLS 1.2 and below (TLS 1.3's are always on): "
                     "list some, or set min_version: TLS13");
    if (tls13) { /* TLS 1.3 needs its AEAD ciphers, which TLS 1.2 then shares */
        cipher |= C_AES128GCM | C_AES256GCM | C_CHACHA;
        mac |= M_AEAD;
    }
    for (size_t j = 0; j < NSUITES; j++) {
        if ((suites[j].kx & kx) && (suites[j].cipher & cipher) && (suites[j].mac & mac) &&
            !(listed & (1u << j)))
            return failf(p, l->line,
                         "cipher_suites: GnuTLS enables key exchanges, ciphers and MACs "
                         "separately, so this list would also enable %s%s: list it too",
                         suites[j].name, tls13 ? " (TLS 1.3 needs the AEAD ciphers)" : "");
    }
    append(prio, cap, ":-KX-ALL");
    for (unsigned b = 0; b < 2; b++) {
        if (kx & (1u << b) && (append(prio, cap, ":+") || append(prio, cap, kx_names[b])))
            return -ENOMEM;
    }
    append(prio, cap, ":-CIPHER-ALL");
    for (unsigned b = 0; b < 5; b++) {
        if (cipher & (1u << b) && (append(prio, cap, ":+") || append(prio, cap, cipher_names[b])))
            return -ENOMEM;
    }
    append(prio, cap, ":-MAC-ALL");
    for (unsigned b = 0; b < 2; b++) {
        if (mac & (1u << b) && (append(prio, cap, ":+") || append(prio, cap, mac_names[b])))
            return -ENOMEM;
    }
    return 0;
}

static int tls_priorities(struct parser *p, struct mw_webconfig *c, const struct tls_text *t)
{
    int min = 3, max = 4, rc;
    char *prio = c->priorities;
    size_t cap = sizeof c->priorities;

    if (t->min_version.text && (rc = get_version(p, &t->min_version, &min)) < 0)
        return rc;
    if (t->max_version.text && (rc = get_version(p, &t->max_version, &max)) < 0)
        return rc;
    if (min > max && !t->min_version.text)
        return failf(p, t->max_version.line,
                     "max_version %s is below the default min_version TLS12 (set min_version too)",
                     versions[max]);
    if (min > max)
        return failf(p, t->min_version.line, "min_version %s is above max_version %s",
                     versions[min], versions[max]);
    snprintf(prio, cap, "%s", "NORMAL:-VERS-ALL");
    for (int v = min; v <= max; v++) {
        static const char *const vers[] = {NULL, ":+VERS-TLS1.0", ":+VERS-TLS1.1", ":+VERS-TLS1.2",
                                           ":+VERS-TLS1.3"};
        append(prio, cap, vers[v]);
    }
    if (t->cipher_suites.n && min <= 3 &&
        (rc = suite_priorities(p, &t->cipher_suites, max == 4, prio, cap)) < 0)
        return rc;
    if (t->curve_preferences.n) {
        append(prio, cap, ":-GROUP-ALL");
        for (size_t i = 0; i < t->curve_preferences.n; i++) {
            size_t j;
            for (j = 0; j < sizeof curves / sizeof curves[0]; j++) {
                if (strcmp(t->curve_preferences.items[i], curves[j].go) == 0)
                    break;
            }
            if (j == sizeof curves / sizeof curves[0])
                return failf(p, t->curve_preferences.line,
                             "curve_preferences: unknown curve '%s' (expected CurveP256, "
                             "CurveP384, CurveP521 or X25519)",
                             t->curve_preferences.items[i]);
            if (append(prio, cap, ":+") || append(prio, cap, curves[j].gnutls))
                return -ENOMEM;
        }
    }
    if ((!t->prefer_seen || t->prefer) && append(prio, cap, ":%SERVER_PRECEDENCE"))
        return -ENOMEM;
    return 0;
}

static int client_auth(struct parser *p, const struct mw_webconfig_value *v,
                       enum mw_client_auth *out)
{
    if (!v->text || strcmp(v->text, "NoClientCert") == 0)
        *out = MW_CLIENT_AUTH_NONE;
    else if (strcmp(v->text, "VerifyClientCertIfGiven") == 0)
        *out = MW_CLIENT_AUTH_VERIFY_IF_GIVEN;
    else if (strcmp(v->text, "RequireAndVerifyClientCert") == 0)
        *out = MW_CLIENT_AUTH_REQUIRE_AND_VERIFY;
    else if (strcmp(v->text, "RequestClientCert") == 0 ||
             strcmp(v->text, "RequireAnyClientCert") == 0)
        return failf(p, v->line,
                     "client_auth_type %s: memwatch only takes client certificates it "
                     "verifies (use RequireAndVerifyClientCert with client_ca_file)",
                     v->text);
    else
        return failf(p, v->line,
                     "unknown client_auth_type '%s' (expected NoClientCert, "
                     "VerifyClientCertIfGiven or RequireAndVerifyClientCert)",
                     v->text);
    return 0;
}

static int tls_check(struct parser *p, struct mw_webconfig *c, const struct tls_text *t)
{
    int rc;
    const struct mw_webconfig_value *extra = NULL;

    if ((rc = client_auth(p, &t->client_auth, &c->client_auth)) < 0)
        return rc;
    c->tls = c->cert_file.text || c->key_file.text || c->cert.text || c->key.text ||
             c->client_ca_file.text || c->client_ca.text || t->client_auth.text;
    if (!c->tls) {
        /* Go would drop these silently with TLS off; here they are a mistake to report. */
        if (t->min_version.text)
            extra = &t->min_version;
        else if (t->max_version.text)
            extra = &t->max_version;
        if (extra)
            return failf(p, extra->line, "TLS settings without cert_file and key_file");
        if (t->cipher_suites.n || t->curve_preferences.n || c->client_allowed_sans.n)
            return failf(p, c->tls_line, "TLS settings without cert_file and key_file");
        return 0;
    }
    if (c->cert_file.text && c->cert.text)
        return failf(p, c->cert.line, "cannot specify both cert_file and cert");
    if (c->key_file.text && c->key.text)
        return failf(p, c->key.line, "cannot specify both key_file and key");
    if (c->client_ca_file.text && c->client_ca.text)
        return failf(p, c->client_ca.line, "cannot specify both client_ca_file and client_ca");
    if (!c->cert_file.text && !c->cert.text)
        return failf(p, c->tls_line, "tls_server_config: missing cert_file or cert");
    if (!c->key_file.text && !c->key.text)
        return failf(p, c->tls_line, "tls_server_config: missing key_file or key");
    if (c->client_auth != MW_CLIENT_AUTH_NONE && !c->client_ca_file.text && !c->client_ca.text)
        return failf(p, t->client_auth.line, "client_auth_type %s needs client_ca_file",
                     t->client_auth.text);
    if (c->client_auth == MW_CLIENT_AUTH_NONE && (c->client_ca_file.text || c->client_ca.text))
        return failf(p, c->client_ca_file.text ? c->client_ca_file.line : c->client_ca.line,
                     "a client CA is set but client_auth_type is NoClientCert (use "
                     "RequireAndVerifyClientCert)");
    if (c->client_allowed_sans.n && c->client_auth != MW_CLIENT_AUTH_REQUIRE_AND_VERIFY)
        return failf(p, c->client_allowed_sans.line,
                     "client_allowed_sans needs client_auth_type RequireAndVerifyClientCert");
    return tls_priorities(p, c, t);
}

static void free_value(struct mw_webconfig_value *v)
{
    free(v->text);
    v->text = NULL;
}

static void free_list(struct mw_webconfig_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Parses the mapping after a key; the handler consumes each key's value. */
typedef int (*key_fn)(struct parser *p, const char *key, void *ctx);

static int mapping(struct parser *p, const char *what, key_fn fn, void *ctx)
{
    int rc;
    if ((rc = next(p)) < 0)
        return rc;
    if (is_null(p))
        return 0;
    if (p->ev.type != YAML_MAPPING_START_EVENT)
        return failf(p, line_of(p), "%s: expected a mapping", what);
    for (;;) {
        char key[256];
        if ((rc = next(p)) < 0)
            return rc;
        if (p->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (p->ev.type != YAML_SCALAR_EVENT)
            return failf(p, line_of(p), "%s: expected a key", what);
        if (p->ev.data.scalar.length >= sizeof key || has_nul(p))
            return failf(p, line_of(p), "%s: a key longer than %zu bytes", what, sizeof key - 1);
        memcpy(key, scalar(p), p->ev.data.scalar.length + 1);
        if ((rc = fn(p, key, ctx)) < 0)
            return rc;
    }
}

struct tls_ctx {
    struct mw_webconfig *c;
    struct tls_text *t;
};

static int tls_key(struct parser *p, const char *key, void *ctx)
{
    struct mw_webconfig *c = ((struct tls_ctx *)ctx)->c;
    struct tls_text *t = ((struct tls_ctx *)ctx)->t;
    static const struct {
        const char *name;
        size_t off;
    } strings[] = {
        {"cert_file", offsetof(struct mw_webconfig, cert_file)},
        {"key_file", offsetof(struct mw_webconfig, key_file)},
        {"cert", offsetof(struct mw_webconfig, cert)},
        {"key", offsetof(struct mw_webconfig, key)},
        {"client_ca_file", offsetof(struct mw_webconfig, client_ca_file)},
        {"client_ca", offsetof(struct mw_webconfig, client_ca)},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (strcmp(key, strings[i].name) == 0)
            return get_string(p, key,
                              (struct mw_webconfig_value *)(void *)((char *)c + strings[i].off));
    }
    if (strcmp(key, "client_auth_type") == 0)
        return get_string(p, key, &t->client_auth);
    if (strcmp(key, "min_version") == 0)
        return get_string(p, key, &t->min_version);
    if (strcmp(key, "max_version") == 0)
        return get_string(p, key, &t->max_version);
    if (strcmp(key, "client_allowed_sans") == 0)
        return get_list(p, key, &c->client_allowed_sans);
    if (strcmp(key, "cipher_suites") == 0)
        return get_list(p, key, &t->cipher_suites);
    if (strcmp(key, "curve_preferences") == 0)
        return get_list(p, key, &t->curve_preferences);
    if (strcmp(key, "prefer_server_cipher_suites") == 0)
        return get_bool(p, key, &t->prefer_seen, &t->prefer);
    return failf(p, line_of(p), "unknown key '%s' in tls_server_config", key);
}

/* ---- http_server_config ----------------------------------------------------------- */

static const char *const header_names[MW_WEBCONFIG_MAX_HEADERS] = {
    "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "X-XSS-Protection",
    "Strict-Transport-Security"};

static int headers_key(struct parser *p, const char *key, void *ctx)
{
    struct mw_webconfig *c = ctx;
    struct mw_webconfig_value v = {NULL, 0};
    const char *name = NULL;
    int rc, line = line_of(p);

    for (size_t i = 0; i < MW_WEBCONFIG_MAX_HEADERS; i++) {
        if (strcmp(key, header_names[i]) == 0)
            name = header_names[i];
    }
    if (!name)
        return failf(p, line,
                     "http_server_config.headers: '%s' is not a header memwatch sets (expected "
                     "Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, "
                     "X-XSS-Protection or Strict-Transport-Security)",
                     key);
    for (size_t i = 0; i < c->nheaders; i++) {
        if (c->headers[i].name == name)
            return failf(p, line, "%s is given twice", key);
    }
    if ((rc = get_string(p, key, &v)) < 0)
        return rc;
    if (!v.text || v.text[0] == '\0') { /* blank: unset */
        free(v.text);
        return 0;
    }
    for (const char *s = v.text; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            free(v.text);
            return failf(p, line, "%s: control characters are not allowed in a header", key);
        }
    }
    if ((strcmp(name, "X-Frame-Options") == 0 && strcasecmp(v.text, "deny") != 0 &&
         strcasecmp(v.text, "sameorigin") != 0) ||
        (strcmp(name, "X-Content-Type-Options") == 0 && strcasecmp(v.text, "nosniff") != 0)) {
        rc = failf(p, line, "%s: '%s' is not allowed (expected %s)", key, v.text,
                   name[2] == 'F' ? "deny or sameorigin" : "nosniff");
        free(v.text);
        return rc;
    }
    c->headers[c->nheaders].name = name;
    c->headers[c->nheaders].value = v.text;
    c->headers[c->nheaders].line = line;
    c->nheaders++;
    return 0;
}

struct http_ctx {
    struct mw_webconfig *c;
    int headers_seen;
};

static int http_key(struct parser *p, const char *key, void *ctx)
{
    struct http_ctx *h = ctx;
    if (strcmp(key, "http2") == 0)
        return get_bool(p, key, &h->c->http2_line, &h->c->http2);
    if (strcmp(key, "headers") == 0) {
        if (h->headers_seen)
            return failf(p, line_of(p), "headers is given twice");
        h->headers_seen = 1;
        return mapping(p, "http_server_config.headers", headers_key, h->c);
    }
    return failf(p, line_of(p), "unknown key '%s' in http_server_config", key);
}

/* ---- basic_auth_users ------------------------------------------------------------- */

int mw_webconfig_bcrypt_shape(const char *h)
{
    static const char b64[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    int cost;
    if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' ||
        (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' || h[6] != '$' || h[4] < '0' ||
        h[4] > '9' || h[5] < '0' || h[5] > '9')
        return 0;
    cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31)
        return 0;
    for (int i = 7; i < 60; i++) {
        if (!strchr(b64, h[i]) || h[i] == '\0')
            return 0;
    }
    return 1;
}

static int users_key(struct parser *p, const char *key, void *ctx)
{
    struct mw_webconfig *c = ctx;
    struct mw_webconfig_value v = {NULL, 0};
    struct mw_webconfig_user *u;
    int rc, line = line_of(p);

    for (size_t i = 0; i < c->nusers; i++) {
        if (strcmp(c->users[i].name, key) == 0)
            return failf(p, line, "basic_auth_users: user '%s' is given twice", key);
    }
    if (c->nusers >= MW_WEBCONFIG_MAX_USERS)
        return failf(p, line, "basic_auth_users: more than %d users", MW_WEBCONFIG_MAX_USERS);
    if (!c->users) {
        c->users = calloc(MW_WEBCONFIG_MAX_USERS, sizeof *c->users);
        if (!c->users)
            return -ENOMEM;
    }
    u = &c->users[c->nusers];
    u->name = strdup(key);
    if (!u->name)
        return -ENOMEM;
    u->line = line;
    c->nusers++;
    if ((rc = get_string(p, "basic_auth_users", &v)) < 0)
        return rc;
    u->hash = v.text;
    if (!u->hash || !mw_webconfig_bcrypt_shape(u->hash))
        return failf(p, line,
                     "basic_auth_users: the password of '%s' is not a bcrypt hash ($2a$, $2b$ or "
                     "$2y$, as htpasswd -B makes them)",
                     key);
    return 0;
}

/* ---- rate_limit ------------------------------------------------------------------- */

/* A Go duration (time.ParseDuration): "0", or numbers with units, like 1m30s or 500ms. */
static int go_duration(const char *s, double *out)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},
                 {"s", 1.0},   {"m", 60.0},  {"h", 3600.0}};
    double total = 0;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (*s == '\0')
        return -1;
    while (*s) {
        char *end;
        double v;
        size_t i;
        if ((*s < '0' || *s > '9') && *s != '.')
            return -1;
        v = strtod(s, &end);
        if (end == s)
            return -1;
        s = end;
        for (i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t n = strlen(units[i].unit);
            /* the table tries "ms" before "m" */
            if (strncmp(s, units[i].unit, n) == 0) {
                total += v * units[i].scale;
                s += n;
                break;
            }
        }
        if (i == sizeof units / sizeof units[0])
            return -1;
    }
    if (!(total >= 0 && total < 1e9))
        return -1;
    *out = total;
    return 0;
}

struct rate_ctx {
    struct mw_webconfig *c;
    struct mw_webconfig_value interval, burst;
};

static int rate_key(struct parser *p, const char *key, void *ctx)
{
    struct rate_ctx *r = ctx;
    if (strcmp(key, "interval") == 0)
        return get_string(p, key, &r->interval);
    if (strcmp(key, "burst") == 0)
        return get_string(p, key, &r->burst);
    return failf(p, line_of(p), "unknown key '%s' in rate_limit", key);
}

static int rate_check(struct parser *p, struct rate_ctx *r)
{
    if (r->interval.text && go_duration(r->interval.text, &r->c->rate_interval) < 0)
        return failf(p, r->interval.line,
                     "rate_limit.interval: '%s' is not a duration (for example 1s or 500ms)",
                     r->interval.text);
    if (r->burst.text) {
        char *end;
        long b;
        errno = 0;
        b = strtol(r->burst.text, &end, 10);
        if (end == r->burst.text || *end != '\0' || errno || b < 0 || b > 1000000)
            return failf(p, r->burst.line,
                         "rate_limit.burst: '%s' is not a whole number in 0..1000000",
                         r->burst.text);
        r->c->rate_burst = b;
    }
    return 0;
}

/* ---- the document ----------------------------------------------------------------- */

struct top_ctx {
    struct mw_webconfig *c;
    struct tls_text tls;
    struct rate_ctx rate;
    int seen_tls, seen_http, seen_users, seen_rate;
};

static int top_key(struct parser *p, const char *key, void *ctx)
{
    struct top_ctx *t = ctx;
    int line = line_of(p);
    int *seen = NULL;
    int rc;

    if (strcmp(key, "tls_server_config") == 0)
        seen = &t->seen_tls;
    else if (strcmp(key, "http_server_config") == 0)
        seen = &t->seen_http;
    else if (strcmp(key, "basic_auth_users") == 0)
        seen = &t->seen_users;
    else if (strcmp(key, "rate_limit") == 0)
        seen = &t->seen_rate;
    else
        return failf(p, line,
                     "unknown key '%s' (expected tls_server_config, http_server_config, "
                     "basic_auth_users or rate_limit)",
                     key);
    if (*seen)
        return failf(p, line, "%s is given twice", key);
    *seen = line;
    if (seen == &t->seen_tls) {
        struct tls_ctx tc = {t->c, &t->tls};
        t->c->tls_line = line;
        rc = mapping(p, key, tls_key, &tc);
    } else if (seen == &t->seen_http) {
        struct http_ctx hc = {t->c, 0};
        rc = mapping(p, key, http_key, &hc);
    } else if (seen == &t->seen_users) {
        rc = mapping(p, key, users_key, t->c);
    } else {
        rc = mapping(p, key, rate_key, &t->rate);
    }
    return rc;
}

static int document(struct parser *p, struct top_ctx *t)
{
    int rc;
    if ((rc = next(p)) < 0)
        return rc;
    if (p->ev.type != YAML_STREAM_START_EVENT)
        return failf(p, line_of(p), "not valid YAML");
    if ((rc = next(p)) < 0)
        return rc;
    if (p->ev.type == YAML_STREAM_END_EVENT)
        return 0; /* an empty file: nothing configured */
    if (p->ev.type != YAML_DOCUMENT_START_EVENT)
        return failf(p, line_of(p), "not valid YAML");
    if ((rc = mapping(p, "the web configuration", top_key, t)) < 0)
        return rc;
    if ((rc = next(p)) < 0)
        return rc;
    if (p->ev.type != YAML_DOCUMENT_END_EVENT)
        return failf(p, line_of(p), "not valid YAML");
    if ((rc = next(p)) < 0)
        return rc;
    if (p->ev.type != YAML_STREAM_END_EVENT)
        return failf(p, line_of(p), "only one YAML document is allowed");
    return 0;
}

int mw_webconfig_parse(const char *text, size_t len, const char *name, struct mw_webconfig *out,
                       char *err, size_t errlen)
{
    struct parser p;
    struct top_ctx t;
    int rc;

    memset(out, 0, sizeof *out);
    out->http2 = 1;
    memset(&t, 0, sizeof t);
    t.c = out;
    t.rate.c = out;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.err = err;
    p.errlen = errlen;
    if (errlen)
        err[0] = '\0';
    if (!yaml_parser_initialize(&p.yaml))
        return -ENOMEM;
    yaml_parser_set_input_string(&p.yaml, (const unsigned char *)text, len);
    rc = document(&p, &t);
    if (p.have)
        yaml_event_delete(&p.ev);
    yaml_parser_delete(&p.yaml);
    if (rc == 0)
        rc = tls_check(&p, out, &t.tls);
    if (rc == 0)
        rc = rate_check(&p, &t.rate);
    free_value(&t.tls.client_auth);
    free_value(&t.tls.min_version);
    free_value(&t.tls.max_version);
    free_list(&t.tls.cipher_suites);
    free_list(&t.tls.curve_preferences);
    free_value(&t.rate.interval);
    free_value(&t.rate.burst);
    if (rc < 0)
        mw_webconfig_free(out);
    return rc;
}

void mw_webconfig_free(struct mw_webconfig *c)
{
    free_value(&c->cert_file);
    free_value(&c->key_file);
    free_value(&c->cert);
    free_value(&c->key);
    free_value(&c->client_ca_file);
    free_value(&c->client_ca);
    free_list(&c->client_allowed_sans);
    for (size_t i = 0; i < c->nheaders; i++)
        free(c->headers[i].value);
    c->nheaders = 0;
    for (size_t i = 0; i < c->nusers; i++) {
        free(c->users[i].name);
        free(c->users[i].hash);
    }
    free(c->users);
    c->users = NULL;
    c->nusers = 0;
}
