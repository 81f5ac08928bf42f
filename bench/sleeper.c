/* A one-process thunk function for bench/remote.sh's burst: sleeps
 * argv[1] whole seconds, then writes argv[2] and a newline to the file
 * `out`. Built static and without the C library (-nostdlib), so that
 * starting it costs one exec: glibc's startup probes the CPU's caches with
 * CPUID, which traps to the hypervisor in a virtual machine and cost
 * 0.3-0.5 ms per process here, more than gg's own share of a thunk. The
 * burst then measures gg, not the C library. */

static long sys(long n, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

enum { SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_nanosleep = 35, SYS_exit = 60 };

static void fail(const char *msg, long len) {
    sys(SYS_write, 2, (long)msg, len);
    sys(SYS_exit, 2, 0, 0);
}

static long length(const char *s) {
    long n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

/* The kernel's entry: argc at the stack pointer, argv after it. */
__attribute__((used)) static void start(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    if (argc != 3) {
        fail("usage: sleeper SECONDS TEXT\n", 28);
    }
    long secs = 0;
    for (const char *p = argv[1]; *p >= '0' && *p <= '9'; p++) {
        secs = secs * 10 + (*p - '0');
    }
    long ts[2] = {secs, 0};
    while (sys(SYS_nanosleep, (long)ts, (long)ts, 0) != 0) {
    }
    long fd = sys(SYS_open, (long)"out", 01 | 0100 | 01000, 0644); /* O_WRONLY|O_CREAT|O_TRUNC */
    if (fd < 0) {
        fail("out: cannot create\n", 19);
    }
    long n = length(argv[2]);
    if (sys(SYS_write, fd, (long)argv[2], n) != n || sys(SYS_write, fd, (long)"\n", 1) != 1 || sys(SYS_close, fd, 0, 0) != 0) {
        fail("out: cannot write\n", 18);
    }
    sys(SYS_exit, 0, 0, 0);
}

__asm__(".global _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call start\n");
