/*
 * The retry policy: which outcomes are worth another attempt and how long
 * to wait before it. Internal to the delivery library; pure.
 */
#ifndef MW_DELIVERY_RETRY_H
#define MW_DELIVERY_RETRY_H

enum mw_delivery_outcome {
    MW_OUTCOME_SENT,  /* 2xx */
    MW_OUTCOME_RETRY, /* transient: connection, timeout, 408, 429, 5xx */
    MW_OUTCOME_FAIL   /* final: the request itself is refused (other 4xx, a redirect,
                         a bad URL, a certificate that does not verify) */
};

/* Classify an attempt from its CURLcode and HTTP status (0: no response). */
int mw_delivery_classify(int curl_code, long http_status);

/*
 * The wait before retry number n (1 = the first retry): first, doubling per
 * retry, at most max.
 */
double mw_delivery_backoff(double first, double max, int n);

#endif
