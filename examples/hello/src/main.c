#include <stdio.h>
#include "greet.h"

int main(int argc, char **argv) {
    const char *who = argc > 1 ? argv[1] : "thunks";
    greet(who);
    printf("%d word(s) in \"%s\"\n", count_words(who), who);
    return 0;
}
