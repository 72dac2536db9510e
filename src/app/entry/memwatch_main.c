/* The executable's entry point: everything is in src/app/main.c. */
#include "app/main.h"

int main(int argc, char **argv)
{
    return mw_main(argc, argv);
}
