/* The memwatch executable, as a function so test builds can link it with
 * another backend (see tests/darwin). */
#ifndef MEMWATCH_APP_MAIN_H
#define MEMWATCH_APP_MAIN_H

int mw_main(int argc, char **argv);

#endif
