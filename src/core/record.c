/* Process records, ledgers and pid lists: the small containers of the core. */
#include "memwatch/alloc.h"
#include "memwatch/backend.h"
#include "memwatch/memwatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mw_proc_init(mw_proc *p)
{
    memset(p, 0, sizeof *p);
}

void mw_proc_release(mw_proc *p)
{
    mw_free(p->path);
    mw_free(p->cmdline);
    mw_proc_init(p);
}

void mw_ledger_init(mw_ledger *l)
{
    memset(l, 0, sizeof *l);
}

void mw_ledger_release(mw_ledger *l)
{
    mw_free(l->rows);
    mw_ledger_init(l);
}

void mw_regions_init(mw_regions *r)
{
    memset(r, 0, sizeof *r);
}

void mw_regions_release(mw_regions *r)
{
    for (size_t i = 0; i < r->count; i++)
        mw_free(r->rows[i].path);
    mw_free(r->rows);
    mw_regions_init(r);
}

mw_region *mw_regions_next(mw_regions *r)
{
    mw_region *rows = mw_grow(r->rows, &r->capacity, r->count + 1, sizeof *rows, 64);

    if (!rows)
        return NULL;
    r->rows = rows;
    memset(&r->rows[r->count], 0, sizeof r->rows[r->count]);
    return &r->rows[r->count];
}

void mw_app_list_release(mw_app_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        mw_ledger_release(&l->apps[i].totals);
    mw_free(l->apps);
    memset(l, 0, sizeof *l);
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int mw_ledger_add(mw_ledger *l, const char *group, const char *name, const char *unit,
                  int64_t balance, const int64_t *credit, const int64_t *debit)
{
    mw_ledger_row *row, *rows = mw_grow(l->rows, &l->capacity, l->count + 1, sizeof *rows, 64);

    if (!rows)
        return -ENOMEM;
    l->rows = rows;
    row = &l->rows[l->count++];
    memset(row, 0, sizeof *row);
    copy_text(row->group, sizeof row->group, group);
    copy_text(row->name, sizeof row->name, name);
    copy_text(row->unit, sizeof row->unit, unit);
    row->balance = balance;
    if (credit) {
        row->credit = *credit;
        row->has_credit = 1;
    }
    if (debit) {
        row->debit = *debit;
        row->has_debit = 1;
    }
    return 0;
}

void mw_ledger_refuse(mw_ledger *l, const char *group, const char *source)
{
    mw_ledger_refusal *r;

    for (size_t i = 0; i < l->nrefused; i++) {
        if (strcmp(l->refused[i].group, group) == 0 && strcmp(l->refused[i].source, source) == 0)
            return;
    }
    if (l->nrefused == MW_LEDGER_REFUSALS_MAX)
        return;
    r = &l->refused[l->nrefused++];
    copy_text(r->group, sizeof r->group, group);
    copy_text(r->source, sizeof r->source, source);
}

const mw_ledger_row *mw_ledger_find(const mw_ledger *l, const char *group, const char *name)
{
    for (size_t i = 0; i < l->count; i++) {
        const mw_ledger_row *row = &l->rows[i];
        if (strcmp(row->name, name) == 0 && (!group || strcmp(row->group, group) == 0))
            return row;
    }
    return NULL;
}

void mw_pid_list_release(mw_pid_list *l)
{
    mw_free(l->pids);
    memset(l, 0, sizeof *l);
}

int mw_pid_list_push(mw_pid_list *l, int32_t pid)
{
    int32_t *pids = mw_grow(l->pids, &l->capacity, l->count + 1, sizeof *pids, 256);

    if (!pids)
        return -ENOMEM;
    l->pids = pids;
    l->pids[l->count++] = pid;
    return 0;
}
