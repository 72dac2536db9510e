/*
 * The read-evaluate-print loop, with the semantics of Lua's own lua.c: a
 * line is tried as an expression first ("return <line>"), then as a
 * statement; a chunk that ends early asks for more lines; "=expr" works;
 * errors print with a traceback and the loop goes on.
 *
 * On a terminal, lines are read with GNU readline: history is kept in
 * ~/.memwatch_history, Tab completes (candidates come from the Lua module
 * memwatch.complete), and Ctrl-C cancels the line being typed. Without a
 * terminal (or without readline) lines come from stdio and no prompt shows.
 */
#include "app/repl.h"

#include "app/lstate.h"
#include "memwatch/memwatch.h"
#include "memwatch/version.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#ifdef MW_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

#define MW_MAX_INPUT  4096
#define EOF_MARK      "<eof>"
#define HISTORY_LINES 1000

static lua_State *repl_state;
#ifdef MW_HAVE_READLINE
static int use_readline; /* stdin is a terminal: read lines through readline */
#endif

static const char *get_prompt(lua_State *L, int first)
{
    const char *p;
    if (lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2") == LUA_TNIL) {
        lua_pop(L, 1);
        return lua_pushstring(L, first ? "> " : ">> ");
    }
    p = luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
    return p; /* stays on the stack until push_line pops it */
}

#ifdef MW_HAVE_READLINE
static volatile sig_atomic_t line_cancelled;
static char history_path[4096];

static void on_sigint_at_prompt(int sig)
{
    (void)sig;
    line_cancelled = 1;
}

/*
 * Reads keys for readline. A Ctrl-C while typing interrupts read() (the
 * handler has no SA_RESTART): the line is thrown away and readline returns,
 * so the loop shows a fresh prompt instead of the process dying.
 */
static int getc_cancellable(FILE *in)
{
    unsigned char c;
    for (;;) {
        ssize_t n = read(fileno(in), &c, 1);
        if (n == 1)
            return c;
        if (n == 0)
            return EOF;
        if (errno != EINTR)
            return EOF;
        if (line_cancelled) {
            rl_replace_line("", 0);
            rl_point = rl_end = 0;
            rl_done = 1;
            fputs("^C", rl_outstream ? rl_outstream : stdout);
            return '\n';
        }
    }
}

static char **candidates;
static size_t ncandidates;
static size_t candidate_word; /* length of the word the candidates complete */

static void free_candidates(void)
{
    for (size_t i = 0; i < ncandidates; i++)
        free(candidates[i]);
    free(candidates);
    candidates = NULL;
    ncandidates = 0;
}

/*
 * Asks memwatch._complete for the candidates of the text before the cursor:
 * whole words ("procs[1].footprint") and the length of the word they
 * complete ("procs[1].foot").
 */
static void collect_candidates(const char *before)
{
    lua_State *L = repl_state;
    int top = lua_gettop(L);

    free_candidates();
    candidate_word = 0;
    if (lua_getglobal(L, "memwatch") != LUA_TTABLE ||
        lua_getfield(L, -1, "_complete") != LUA_TFUNCTION) {
        lua_settop(L, top);
        return;
    }
    lua_pushstring(L, before);
    if (lua_pcall(L, 1, 2, 0) == LUA_OK && lua_istable(L, -2)) {
        lua_Integer n = luaL_len(L, -2);
        lua_Integer w = lua_tointeger(L, -1);
        candidate_word = w > 0 ? (size_t)w : 0;
        lua_pop(L, 1);
        candidates = calloc((size_t)n + 1, sizeof *candidates);
        for (lua_Integer i = 1; candidates && i <= n; i++) {
            lua_geti(L, -1, i);
            if (lua_isstring(L, -1))
                candidates[ncandidates++] = strdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
}

/*
 * Readline breaks words at '[' and ']' (and quotes), so for "procs[1].foot"
 * its word is ".foot" while the candidates are whole Lua expressions: each
 * is cut by what lies before readline's word.
 */
static char *candidate_generator(const char *text, int state)
{
    static size_t next;
    size_t tlen = strlen(text);
    size_t skip = candidate_word > tlen ? candidate_word - tlen : 0;
    if (state == 0)
        next = 0;
    while (next < ncandidates) {
        const char *c = candidates[next++];
        if (c && strlen(c) >= skip)
            return strdup(c + skip);
    }
    return NULL;
}

static char **complete(const char *text, int start, int end)
{
    char *before = strndup(rl_line_buffer, (size_t)end);
    (void)start;
    (void)text;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    if (!before)
        return NULL;
    collect_candidates(before);
    free(before);
    return rl_completion_matches(text, candidate_generator);
}

static void history_setup(void)
{
    const char *home = getenv("HOME");
    using_history();
    if (home && *home) {
        snprintf(history_path, sizeof history_path, "%s/.memwatch_history", home);
        read_history(history_path);
    }
    rl_readline_name = "memwatch";
    rl_attempted_completion_function = complete;
    /* "memwatch.pro" is one word: only break words where Lua would. */
    rl_basic_word_break_characters = " \t\n\"\\'><=;+-*/%^~#&|{}()[],";
    rl_completer_word_break_characters = rl_basic_word_break_characters;
    rl_getc_function = getc_cancellable;
    /* A Tab that can add nothing more lists the candidates at once. */
    rl_variable_bind("show-all-if-unmodified", "on");
    rl_catch_signals = 0;
}

static void history_save(const char *chunk)
{
    if (!chunk || !*chunk)
        return;
    add_history(chunk);
    if (history_path[0]) {
        /* Append as we go, so a crash or kill keeps what was typed. */
        FILE *f = fopen(history_path, "a");
        if (f)
            fclose(f);
        append_history(1, history_path);
        history_truncate_file(history_path, HISTORY_LINES);
    }
}
#endif

/* Reads one line into a Lua string on the stack; 0 at end of input. */
static int push_line(lua_State *L, int first)
{
    char buf[MW_MAX_INPUT];
    size_t len;

#ifdef MW_HAVE_READLINE
    if (use_readline) {
        struct sigaction sa, old;
        const char *prompt = get_prompt(L, first);
        char *line;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint_at_prompt;
        sigemptyset(&sa.sa_mask);
        line_cancelled = 0;
        sigaction(SIGINT, &sa, &old);
        line = readline(prompt);
        sigaction(SIGINT, &old, NULL);
        lua_pop(L, 1); /* the prompt */
        if (!line)
            return 0;
        if (line_cancelled) {
            /* A cancelled line is an empty one; a pending chunk is dropped too. */
            free(line);
            lua_pushliteral(L, "");
            return first ? 1 : -1;
        }
        if (first && line[0] == '=')
            lua_pushfstring(L, "return %s", line + 1);
        else
            lua_pushstring(L, line);
        free(line);
        return 1;
    }
#endif
    if (isatty(STDIN_FILENO)) {
        fputs(get_prompt(L, first), stdout);
        lua_pop(L, 1);
        fflush(stdout);
    }
    if (fgets(buf, sizeof buf, stdin) == NULL)
        return 0;
    len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (first && buf[0] == '=')
        lua_pushfstring(L, "return %s", buf + 1);
    else
        lua_pushlstring(L, buf, len);
    return 1;
}

static int incomplete(lua_State *L, int status)
{
    if (status == LUA_ERRSYNTAX) {
        size_t lmsg;
        const char *msg = lua_tolstring(L, -1, &lmsg);
        size_t mark = sizeof(EOF_MARK) - 1;
        if (lmsg >= mark && strcmp(msg + lmsg - mark, EOF_MARK) == 0) {
            lua_pop(L, 1);
            return 1;
        }
    }
    return 0;
}

/* Try "return <line>" first, so a bare expression prints its value. */
static int add_return(lua_State *L)
{
    const char *line = lua_tostring(L, -1);
    const char *retline = lua_pushfstring(L, "return %s;", line);
    int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
    if (status == LUA_OK)
        lua_remove(L, -2);
    else
        lua_pop(L, 2);
    return status;
}

/* Keeps reading while the chunk is incomplete. -2: the chunk was cancelled. */
static int multiline(lua_State *L)
{
    for (;;) {
        size_t len;
        const char *line = lua_tolstring(L, 1, &len);
        int status = luaL_loadbuffer(L, line, len, "=stdin"), got;
        if (!incomplete(L, status))
            return status;
        got = push_line(L, 0);
        if (got == 0)
            return status == LUA_OK ? status : (luaL_loadbuffer(L, line, len, "=stdin"));
        if (got < 0) {
            lua_settop(L, 1);
            return -2;
        }
        lua_pushliteral(L, "\n");
        lua_insert(L, -2);
        lua_concat(L, 3);
    }
}

/* Reads a whole chunk; leaves the compiled function (or error) on the stack. */
static int load_line(lua_State *L)
{
    int status;
    lua_settop(L, 0);
    if (!push_line(L, 1))
        return -1;
    if ((status = add_return(L)) != LUA_OK)
        status = multiline(L);
#ifdef MW_HAVE_READLINE
    if (use_readline && status != -2)
        history_save(lua_tostring(L, 1));
#endif
    lua_remove(L, 1);
    return status;
}

/* Results print through memwatch._print_results (records as tables, sizes
 * in human units), or the global print when that is missing. */
static void print_results(lua_State *L)
{
    int n = lua_gettop(L);
    if (n > 0) {
        luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
        if (lua_getglobal(L, "memwatch") == LUA_TTABLE) {
            lua_getfield(L, -1, "_print_results");
            lua_remove(L, -2);
        }
        if (!lua_isfunction(L, -1)) {
            lua_pop(L, 1);
            lua_getglobal(L, "print");
        }
        lua_insert(L, 1);
        if (mw_docall(L, n, 0) != LUA_OK)
            mw_report(L, LUA_ERRRUN);
    }
}

/* help() is a global of the prompt only. */
static void install_help(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "memwatch.help");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
        lua_getfield(L, -1, "help");
        lua_setglobal(L, "help");
    }
    lua_pop(L, 1);
}

/*
 * Tells the Lua modules that what runs from here on is typed at the prompt:
 * memwatch.core.prompt = true (a rule typed again replaces the old one,
 * where a script's duplicate is an error).
 */
static void mark_prompt(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "memwatch.core") == LUA_TTABLE) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "prompt");
    }
    lua_pop(L, 2);
}

int mw_repl(lua_State *L)
{
    int status;

    repl_state = L;
    install_help(L);
    mark_prompt(L);
#ifdef MW_HAVE_READLINE
    use_readline = isatty(STDIN_FILENO);
    if (use_readline)
        history_setup();
#endif
    if (isatty(STDIN_FILENO))
        printf("memwatch %s: help() lists the API, Ctrl-D leaves.\n", MW_VERSION);
    while ((status = load_line(L)) != -1) {
        if (status == -2)
            continue; /* a cancelled or empty line */
        if (status == LUA_OK)
            status = mw_docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            print_results(L);
        else
            mw_report(L, status);
    }
    lua_settop(L, 0);
    if (isatty(STDIN_FILENO))
        fputc('\n', stdout);
    fflush(stdout);
    return 0;
}
