/* A one-process thunk function for bench/remote.sh's burst: sleeps
 * argv[1] seconds, then writes argv[2] and a newline to the file `out`.
 * Built static, so that starting it costs no dynamic linking: the burst
 * then measures gg, not the shell and coreutils. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fputs("usage: sleeper SECONDS TEXT\n", stderr);
        return 2;
    }
    double secs = atof(argv[1]);
    struct timespec ts = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
    FILE *f = fopen("out", "w");
    if (!f || fprintf(f, "%s\n", argv[2]) < 0 || fclose(f) != 0) {
        perror("out");
        return 1;
    }
    return 0;
}
