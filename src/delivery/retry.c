/* The retry policy: see retry.h. */
#include "delivery/retry.h"

#include <curl/curl.h>

int mw_delivery_classify(int curl_code, long http_status)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        break;
    /* The network or the peer: worth another try. */
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_AGAIN:
        return MW_OUTCOME_RETRY;
    /* The request or the configuration (a bad URL, an unverifiable
     * certificate, out of memory in libcurl): the same attempt would fail
     * the same way. */
    default:
        return MW_OUTCOME_FAIL;
    }
    if (http_status >= 200 && http_status < 300)
        return MW_OUTCOME_SENT;
    if (http_status == 408 || http_status == 429 || http_status >= 500)
        return MW_OUTCOME_RETRY;
    return MW_OUTCOME_FAIL;
}

double mw_delivery_backoff(double first, double max, int n)
{
    double wait = first;
    int i;
    for (i = 1; i < n && wait < max; i++)
        wait *= 2;
    return wait < max ? wait : max;
}
