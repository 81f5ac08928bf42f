/* gg's stage launcher, built statically at toolchain discovery.
 *
 * A compile thunk runs the compiler's programs (driver, cc1, as) through
 * the dynamic loader and libraries it carries, not the machine's. The
 * driver execs its stages by path, and the kernel would start them with
 * the loader named in their ELF header (the machine's). So the driver is
 * given -B <folder of launchers>: each launcher is this program under a
 * stage's name, and it re-executes the real stage through the shipped
 * loader:
 *
 *   $GG_LOADER --library-path $GG_LIBRARY_PATH --argv0 ARGV0 $GG_LAUNCH_<name> ARGS...
 *
 * <name> is the base name of argv[0] with every character that is not a
 * letter or digit replaced by '_'. Being static, the launcher needs no
 * loader itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *slash = strrchr(argv[0], '/');
    const char *base = slash ? slash + 1 : argv[0];
    char key[512];
    int n = snprintf(key, sizeof key, "GG_LAUNCH_%s", base);
    if (n < 0 || (size_t)n >= sizeof key) {
        fprintf(stderr, "gg launcher: name too long: %s\n", base);
        return 127;
    }
    for (char *p = key + strlen("GG_LAUNCH_"); *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
            *p = '_';
        }
    }
    const char *target = getenv(key);
    const char *loader = getenv("GG_LOADER");
    const char *libs = getenv("GG_LIBRARY_PATH");
    if (!target || !loader || !libs) {
        fprintf(stderr, "gg launcher: %s, GG_LOADER or GG_LIBRARY_PATH is not set\n", key);
        return 127;
    }
    char **args = calloc((size_t)argc + 7, sizeof *args);
    if (!args) {
        return 127;
    }
    int i = 0;
    args[i++] = (char *)loader;
    args[i++] = "--library-path";
    args[i++] = (char *)libs;
    args[i++] = "--argv0";
    args[i++] = argv[0];
    args[i++] = (char *)target;
    for (int a = 1; a < argc; a++) {
        args[i++] = argv[a];
    }
    args[i] = NULL;
    execv(loader, args);
    perror("gg launcher: cannot start the loader");
    return 127;
}
