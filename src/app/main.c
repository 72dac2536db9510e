/*
 * The memwatch executable: runs scripts, -e chunks, bundled subcommands
 * (memwatch ps, memwatch ledger, ...) and the REPL, all inside one protected
 * call, as Lua's own lua.c does.
 */
#include "app/main.h"

#include "app/lstate.h"
#include "app/repl.h"
#include "lua/ldelivery.h"
#include "memwatch/memwatch.h"
#include "memwatch/version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#define EXIT_USAGE       2
#define EXIT_INTERRUPTED 130

static const char usage_text[] =
    "usage: memwatch [options] [SCRIPT [args...]]\n"
    "       memwatch COMMAND [args...]\n"
    "\n"
    "Options:\n"
    "  -e CODE      run CODE (Lua) before the script\n"
    "  -i           enter the interactive prompt after running the script or -e code\n"
    "  --state FILE keep the script's firing alerts in FILE across restarts (may\n"
    "               also come right after SCRIPT: memwatch SCRIPT --state FILE)\n"
    "  -v, --version  print the version and exit\n"
    "  -h, --help   print this help and exit\n"
    "  --           stop handling options\n"
    "\n"
    "With no script, memwatch reads Lua from standard input, or opens the\n"
    "interactive prompt when standard input is a terminal.\n"
    "\n";

static const char commands_title[] = "Commands (memwatch COMMAND --help for each):\n";

/* What pmain needs from main and gives back. */
typedef struct run {
    int argc;
    char **argv;
    int exit_code;
} run;

static void print_commands(lua_State *L, FILE *out)
{
    fputs(commands_title, out);
    /* The commands are the bundled memwatch.cli.* modules, listed by
     * memwatch.commands (not the facade, which the commands require). */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "memwatch.commands");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_getfield(L, -1, "usage") == LUA_TFUNCTION &&
        lua_pcall(L, 0, 1, 0) == LUA_OK) {
        fputs(lua_tostring(L, -1), out);
    }
    lua_settop(L, 0);
}

static void print_usage(lua_State *L, FILE *out)
{
    fputs(usage_text, out);
    print_commands(L, out);
}

/* arg table: script name at 0, its arguments at 1.., options before at -n.
 * The skip words right after the script are memwatch's (--state FILE) and
 * left out. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script, int skip)
{
    int narg = argc - script - 1 - skip;
    lua_createtable(L, narg > 0 ? narg : 0, script + 1);
    for (int i = 0; i < argc; i++) {
        if (i > script && i <= script + skip)
            continue;
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script - (i > script ? skip : 0));
    }
    lua_setglobal(L, "arg");
}

static int status_to_exit(lua_State *L, int status)
{
    if (status == LUA_OK)
        return 0;
    if (mw_is_interrupt(L)) {
        mw_report(L, status);
        return EXIT_INTERRUPTED;
    }
    mw_report(L, status);
    return 1;
}

static int run_chunk_string(lua_State *L, const char *code)
{
    int status = luaL_loadbufferx(L, code, strlen(code), "=(command line)", "t");
    if (status == LUA_OK)
        status = mw_docall(L, 0, 0);
    return status_to_exit(L, status);
}

static int push_script_args(lua_State *L)
{
    int n;
    lua_getglobal(L, "arg");
    n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    return n;
}

static int run_script(lua_State *L, const char *path)
{
    int status;
    if (strcmp(path, "-") == 0)
        path = NULL; /* stdin */
    status = luaL_loadfilex(L, path, "t");
    if (status == LUA_ERRFILE) {
        /* luaL_loadfilex says "cannot open x" plus the reason; keep it. */
        fprintf(stderr, "memwatch: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return 1;
    }
    if (status == LUA_OK) {
        int n = push_script_args(L);
        status = mw_docall(L, n, 0);
    }
    return status_to_exit(L, status);
}

/*
 * memwatch COMMAND args: the bundled module memwatch.cli.COMMAND returns a
 * function taking the argument list and returning an exit code.
 */
static int run_command(lua_State *L, const char *name, char **argv, int argc)
{
    int status, code = 0;
    lua_getglobal(L, "require");
    lua_pushfstring(L, "memwatch.cli.%s", name);
    status = mw_docall(L, 1, 1);
    if (status != LUA_OK)
        return status_to_exit(L, status);
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    status = mw_docall(L, 1, 1);
    if (status != LUA_OK)
        return status_to_exit(L, status);
    if (lua_isinteger(L, -1))
        code = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return code;
}

/* "--state FILE" or "--state=FILE" at argv[i]: how many words it takes (1 or
 * 2), the file in *file ("" when missing); 0 when argv[i] is something else. */
static int state_option(char **argv, int argc, int i, const char **file)
{
    if (strncmp(argv[i], "--state=", 8) == 0) {
        *file = argv[i] + 8;
        return 1;
    }
    if (strcmp(argv[i], "--state") != 0)
        return 0;
    *file = i + 1 < argc ? argv[i + 1] : "";
    return 2;
}

/* memwatch.core.state_file = path: the state file of the engine behind the
 * script's memwatch.run() (memwatch.watch.run). */
static int set_state_file(lua_State *L, const char *path)
{
    int status;

    lua_getglobal(L, "require");
    lua_pushliteral(L, "memwatch.core");
    status = mw_docall(L, 1, 1);
    if (status != LUA_OK)
        return status_to_exit(L, status);
    lua_pushstring(L, path);
    lua_setfield(L, -2, "state_file");
    lua_pop(L, 1);
    return 0;
}

/* A word that can only name a command: a script path would have a '/' or a
 * '.', an option a '-'. */
static int command_word(const char *word)
{
    return !strchr(word, '/') && !strchr(word, '.') && word[0] != '-';
}

static int is_command(lua_State *L, const char *word)
{
    int found;
    if (!command_word(word))
        return 0;
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushfstring(L, "memwatch.cli.%s", word);
    found = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 3);
    return found;
}

static int pmain(lua_State *L)
{
    run *r = lua_touserdata(L, 1);
    int argc = r->argc, script = 0, interactive = 0, ran_code = 0, used = 0, skip = 0;
    char **argv = r->argv;
    const char *state = NULL;
    int i;

    lua_settop(L, 0);
    luaL_checkversion(L);
    mw_state_setup(L);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0)
            break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_usage(L, stdout);
            r->exit_code = 0;
            return 0;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
            printf("memwatch %s (%s, %s)\n", MW_VERSION, LUA_RELEASE,
                   lua_getglobal(L, "memwatch") == LUA_TTABLE &&
                           lua_getfield(L, -1, "platform") == LUA_TSTRING
                       ? lua_tostring(L, -1)
                       : "?");
            r->exit_code = 0;
            return 0;
        } else if (strcmp(a, "-i") == 0) {
            interactive = 1;
        } else if ((used = state_option(argv, argc, i, &state)) > 0) {
            i += used - 1;
        } else if (strcmp(a, "-e") == 0) {
            i++;
            if (i >= argc) {
                fprintf(stderr, "memwatch: '-e' needs an argument\ntry 'memwatch --help'\n");
                r->exit_code = EXIT_USAGE;
                return 0;
            }
        } else {
            fprintf(stderr, "memwatch: unknown option '%s'\ntry 'memwatch --help'\n", a);
            r->exit_code = EXIT_USAGE;
            return 0;
        }
    }
    script = i < argc ? i : 0;

    if (script && is_command(L, argv[script])) {
        r->exit_code = run_command(L, argv[script], argv + script + 1, argc - script - 1);
        return 0;
    }
    /* Neither a command nor a file: most likely a mistyped command, so say
     * that rather than "cannot open". A file of that name still runs. */
    if (script && command_word(argv[script]) && access(argv[script], F_OK) != 0) {
        fprintf(stderr, "memwatch: unknown command '%s'\n", argv[script]);
        print_commands(L, stderr);
        r->exit_code = EXIT_USAGE;
        return 0;
    }

    /* memwatch SCRIPT --state FILE: left out of the script's arguments. */
    if (script && script + 1 < argc)
        skip = state_option(argv, argc, script + 1, &state);
    if (state && !*state) {
        fprintf(stderr, "memwatch: '--state' needs a file name\ntry 'memwatch --help'\n");
        r->exit_code = EXIT_USAGE;
        return 0;
    }
    if (state && (r->exit_code = set_state_file(L, state)) != 0)
        return 0;
    create_arg_table(L, argv, argc, script ? script : argc, skip);
    /* Run -e chunks in order, before the script (as lua.c does). */
    for (i = 1; i < (script ? script : argc); i++) {
        if (strcmp(argv[i], "-e") == 0) {
            ran_code = 1;
            if ((r->exit_code = run_chunk_string(L, argv[++i])) != 0)
                return 0;
        } else if ((used = state_option(argv, argc, i, &state)) > 0) {
            i += used - 1;
        }
    }
    if (script) {
        r->exit_code = run_script(L, argv[script]);
        if (r->exit_code != 0)
            return 0;
    } else if (!ran_code && !interactive) {
        if (isatty(STDIN_FILENO)) {
            interactive = 1;
        } else {
            r->exit_code = run_script(L, "-");
            return 0;
        }
    }
    if (interactive)
        r->exit_code = mw_repl(L);
    return 0;
}

/* Keep room for the descriptors the sampler caches between scans (two per
 * process) on systems whose soft limit is the historical 1024. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int mw_main(int argc, char **argv)
{
    run r = {argc, argv, 0};
    lua_State *L;
    int status;

    raise_fd_limit();
    L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "memwatch: cannot create a Lua state: not enough memory\n");
        return 1;
    }
    lua_gc(L, LUA_GCSTOP);
    lua_pushcfunction(L, pmain);
    lua_pushlightuserdata(L, &r);
    status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK) {
        mw_report(L, status);
        r.exit_code = 1;
    }
    /* Alerts still on their way get a bounded chance (a dead endpoint cannot
     * hold the exit for longer). */
    mw_l_delivery_finish(L, MW_L_DELIVERY_EXIT_SECONDS);
    lua_close(L);
    fflush(stdout);
    return r.exit_code;
}
