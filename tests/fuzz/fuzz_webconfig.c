/*
 * The web configuration parser (http/webconfig.c): libyaml's events into
 * struct mw_webconfig. Any input either parses into a struct that keeps the
 * parser's promises, or fails with "NAME:LINE: message"; nothing leaks
 * (ASan) and nothing is read past the input.
 */
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "http/webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mw_webconfig cfg;
    char err[512];
    int rc = mw_webconfig_parse((const char *)data, size, "fuzz.yml", &cfg, err, sizeof err);

    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    FUZZ_CHECK(fuzz_terminated(err, sizeof err));
    if (rc == -EINVAL) {
        FUZZ_CHECK(strncmp(err, "fuzz.yml:", 9) == 0);
        FUZZ_CHECK(err[9] >= '1' && err[9] <= '9');
        FUZZ_CHECK(strlen(err) > 12);
        return 0;
    }
    if (rc < 0)
        return 0;
    FUZZ_CHECK(fuzz_terminated(cfg.priorities, sizeof cfg.priorities));
    if (cfg.tls) {
        FUZZ_CHECK(cfg.cert.text || cfg.cert_file.text);
        FUZZ_CHECK(cfg.key.text || cfg.key_file.text);
        FUZZ_CHECK(!(cfg.cert.text && cfg.cert_file.text));
        FUZZ_CHECK(strncmp(cfg.priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.", 28) == 0);
        FUZZ_CHECK(cfg.client_auth == MW_CLIENT_AUTH_NONE || cfg.client_ca.text ||
                   cfg.client_ca_file.text);
        FUZZ_CHECK(!cfg.client_allowed_sans.n ||
                   cfg.client_auth == MW_CLIENT_AUTH_REQUIRE_AND_VERIFY);
    } else {
        FUZZ_CHECK(!cfg.cert.text && !cfg.key.text && !cfg.cert_file.text && !cfg.key_file.text);
    }
    FUZZ_CHECK(cfg.nheaders <= MW_WEBCONFIG_MAX_HEADERS);
    for (size_t i = 0; i < cfg.nheaders; i++) {
        FUZZ_CHECK(cfg.headers[i].value[0] != '\0');
        for (const char *p = cfg.headers[i].value; *p; p++)
            FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    }
    FUZZ_CHECK(cfg.nusers <= MW_WEBCONFIG_MAX_USERS);
    for (size_t i = 0; i < cfg.nusers; i++) {
        FUZZ_CHECK(mw_webconfig_bcrypt_shape(cfg.users[i].hash));
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(cfg.users[i].name, cfg.users[j].name) != 0);
    }
    FUZZ_CHECK(cfg.rate_interval >= 0 && cfg.rate_burst >= 0);
    FUZZ_CHECK(cfg.http2 == 0 || cfg.http2 == 1);
    mw_webconfig_free(&cfg);
    return 0;
}
