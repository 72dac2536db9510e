/*
 * A growth rule's window in fixed memory: see memwatch/trend.h.
 */
#include "memwatch/trend.h"

#include <math.h>
#include <string.h>

/* Merges cell b into a (Chan, Golub and LeVeque's pairwise update). */
static void merge(struct mw_trend_cell *a, const struct mw_trend_cell *b)
{
    double n, dt, dv, w;
    if (b->n <= 0)
        return;
    if (a->n <= 0) {
        *a = *b;
        return;
    }
    n = a->n + b->n;
    dt = b->mean_t - a->mean_t;
    dv = b->mean_v - a->mean_v;
    w = a->n * b->n / n;
    a->m2_t += b->m2_t + dt * dt * w;
    a->m2_v += b->m2_v + dv * dv * w;
    a->c_tv += b->c_tv + dt * dv * w;
    a->mean_t += dt * b->n / n;
    a->mean_v += dv * b->n / n;
    a->n = n;
}

void mw_trend_add(struct mw_trend_window *w, double t, double v, double oldest)
{
    double k = floor(t / w->width);
    double slot = fmod(k, (double)w->nslots);
    struct mw_trend_cell *c;
    double dt, dv;
    size_t i;

    for (i = 0; i < w->nslots; i++) {
        if (w->cells[i].n > 0 && w->cells[i].mean_t < oldest)
            memset(&w->cells[i], 0, sizeof w->cells[i]);
    }
    if (slot < 0)
        slot += (double)w->nslots;
    c = &w->cells[(size_t)slot];
    /* The slot last held another turn of the grid: that cell is over. */
    if (c->n > 0 && floor(c->mean_t / w->width) != k)
        memset(c, 0, sizeof *c);
    c->n += 1;
    dt = t - c->mean_t;
    dv = v - c->mean_v;
    c->mean_t += dt / c->n;
    c->mean_v += dv / c->n;
    c->m2_t += dt * (t - c->mean_t);
    c->m2_v += dv * (v - c->mean_v);
    c->c_tv += dt * (v - c->mean_v);
}

int mw_trend_fit(const struct mw_trend_window *w, double *slope, double *r2, double *n)
{
    struct mw_trend_cell all = {0};
    size_t i;

    for (i = 0; i < w->nslots; i++)
        merge(&all, &w->cells[i]);
    *n = all.n;
    if (all.n < 2 || !(all.m2_t > 0))
        return -1;
    *slope = all.c_tv / all.m2_t;
    *r2 = all.m2_v > 0 ? (all.c_tv * all.c_tv) / (all.m2_t * all.m2_v) : 0.0;
    return 0;
}
