/*
 * A growth rule's window in fixed memory: the least-squares moments of the
 * samples (time, value) a trend fit needs, summed per cell of a time grid,
 * so a window holds a few cells whatever its number of samples.
 *
 * The grid's cells are window / cells seconds wide; a window keeps cells + 1
 * of them (the oldest one partly out). A cell leaves the window when the
 * mean time of its samples falls before the window's start: exactly the
 * samples older than the start when each cell holds one sample (a window of
 * at most `cells` samples), and otherwise a window within half a cell of
 * its length, as many samples too old kept as samples new enough dropped on
 * average. The fit over the cells is the same line as a fit over the
 * samples themselves, up to rounding: each cell keeps its means and centred
 * co-moments (Welford's update), merged pairwise (Chan et al.) for the fit.
 */
#ifndef MEMWATCH_TREND_H
#define MEMWATCH_TREND_H

#include <stddef.h>

/* One cell: the count, the means, and the centred sums of squares and
 * products of its samples. n == 0: an empty cell. */
struct mw_trend_cell {
    double n;
    double mean_t, mean_v;
    double m2_t, m2_v, c_tv;
};

/* The cell grid: width > 0 seconds; cells[0..nslots) (nslots = the window's
 * cells + 1), zeroed by the caller to start empty. */
struct mw_trend_window {
    double width;
    size_t nslots;
    struct mw_trend_cell *cells;
};

/* Drops the cells whose mean time is before oldest, then adds the sample
 * (t, v) to its cell. */
void mw_trend_add(struct mw_trend_window *w, double t, double v, double oldest);

/* The fit over the window's cells: *n is the number of samples; returns 0
 * with *slope (value units per second) and *r2 set, or -1 when there is no
 * line (fewer than two samples, or all at one time). r2 is 0 for a flat
 * series. */
int mw_trend_fit(const struct mw_trend_window *w, double *slope, double *r2, double *n);

#endif
