/*
 * The C floors of Ferry's benchmarks, in one file built two ways (see bench/Makefile):
 *
 *   libbenchfloor.so  loaded by the JMH benchmarks through FFM:
 *                       bench_add          the trivial op, for the direct-downcall floor (no offload)
 *                       bench_pp_*         two pthreads ping-pong one cache line: the least a
 *                                          cross-thread round trip can cost on this machine, now
 *   pingpong          the same ping-pong as a stand-alone program (-DBENCH_MAIN) that prints the floor
 *                     every 100 ms, to watch the host move it:  bench/target/native/pingpong [seconds]
 *
 * The ping-pong word is one 64-bit counter alone on a 128-byte-aligned pair of lines. The caller turns
 * an even value v into v + 1 (release); the echo thread sees the odd value (acquire) and stores v + 2
 * (release); the caller spins until it reads v + 2 (acquire). One line, two transfers per round trip,
 * nothing else. Between bursts the echo thread can be paused (futex wait), so that another benchmark
 * measured in between has both vCPUs to itself.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BENCH_API __attribute__((visibility("default")))

/* ---- the trivial op ---------------------------------------------------------------------------- */

/* x + y, wrapping (done unsigned so overflow is defined), exactly what Ferry's built-in "add" does. */
BENCH_API int64_t bench_add(int64_t x, int64_t y)
{
    return (int64_t)((uint64_t)x + (uint64_t)y);
}

/* ---- the cache-line ping-pong ------------------------------------------------------------------ */

enum { PP_RUN = 0, PP_PAUSE = 1, PP_STOP = 2 };

static struct {
    _Alignas(128) _Atomic uint64_t word; /* the one line that moves */
    _Alignas(128) _Atomic uint32_t ctl;  /* PP_RUN / PP_PAUSE / PP_STOP: read by the echo only when idle */
    _Atomic uint32_t parked;             /* 1 while the echo thread waits in the futex */
    uint64_t next;                       /* the caller's next even value (caller-private) */
    pthread_t echo;
    int started;
} pp;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, NULL, NULL, 0);
}

static void *pp_echo(void *arg)
{
    (void)arg;
    for (;;) {
        /* Pairs with the caller's release store of the odd value. */
        uint64_t v = atomic_load_explicit(&pp.word, memory_order_acquire);
        if (v & 1) {
            /* Pairs with the caller's acquire load that waits for v + 1. */
            atomic_store_explicit(&pp.word, v + 1, memory_order_release);
            continue;
        }
        uint32_t ctl = atomic_load_explicit(&pp.ctl, memory_order_acquire);
        if (ctl == PP_STOP)
            return NULL;
        if (ctl == PP_PAUSE) {
            atomic_store_explicit(&pp.parked, 1, memory_order_release);
            while (atomic_load_explicit(&pp.ctl, memory_order_acquire) == PP_PAUSE)
                futex(&pp.ctl, FUTEX_WAIT_PRIVATE, PP_PAUSE);
            atomic_store_explicit(&pp.parked, 0, memory_order_release);
            continue;
        }
        cpu_relax();
    }
}

/* Starts the echo thread (running). Returns 0, or an errno from pthread_create. Not thread-safe. */
BENCH_API int bench_pp_start(void)
{
    if (pp.started)
        return 0;
    atomic_store(&pp.word, 0);
    atomic_store(&pp.ctl, PP_RUN);
    atomic_store(&pp.parked, 0);
    pp.next = 0;
    int rc = pthread_create(&pp.echo, NULL, pp_echo, NULL);
    if (rc == 0) {
        pthread_setname_np(pp.echo, "pingpong-echo-c");
        pp.started = 1;
    }
    return rc;
}

/* n round trips on the caller's thread; returns the last value the echo thread wrote (2 * total). */
BENCH_API int64_t bench_pp_run(int64_t n)
{
    uint64_t v = pp.next;
    for (int64_t i = 0; i < n; i++, v += 2) {
        atomic_store_explicit(&pp.word, v + 1, memory_order_release);
        while (atomic_load_explicit(&pp.word, memory_order_acquire) != v + 2)
            cpu_relax();
    }
    pp.next = v;
    return (int64_t)v;
}

/* Parks the echo thread and waits (at most ~1 s) until it is in the futex, so it uses no CPU. */
BENCH_API void bench_pp_pause(void)
{
    atomic_store_explicit(&pp.ctl, PP_PAUSE, memory_order_release);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!atomic_load_explicit(&pp.parked, memory_order_acquire)) {
        cpu_relax();
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 1)
            break;
    }
}

/* Wakes a paused echo thread (the first round trip after this pays its wake-up). */
BENCH_API void bench_pp_resume(void)
{
    atomic_store_explicit(&pp.ctl, PP_RUN, memory_order_release);
    futex(&pp.ctl, FUTEX_WAKE_PRIVATE, 1);
}

/* Stops and joins the echo thread. */
BENCH_API void bench_pp_stop(void)
{
    if (!pp.started)
        return;
    atomic_store_explicit(&pp.ctl, PP_STOP, memory_order_release);
    futex(&pp.ctl, FUTEX_WAKE_PRIVATE, 1);
    pthread_join(pp.echo, NULL);
    pp.started = 0;
}

#ifdef BENCH_MAIN
#include <stdio.h>
#include <stdlib.h>

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* pingpong [seconds]: the cache-line floor every 100 ms (best burst of 1000 round trips in each),
 * then min / median / max over the run. */
int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 5;
    if (seconds < 1)
        seconds = 1;
    if (bench_pp_start() != 0) {
        fprintf(stderr, "pingpong: cannot start the echo thread\n");
        return 1;
    }
    bench_pp_run(10000);
    int slots = seconds * 10;
    double *best = malloc(sizeof(double) * (size_t)slots);
    for (int s = 0; s < slots; s++) {
        int64_t end = now_ns() + 100000000;
        best[s] = 1e18;
        while (now_ns() < end) {
            int64_t t0 = now_ns();
            bench_pp_run(1000);
            double ns = (double)(now_ns() - t0) / 1000;
            if (ns < best[s])
                best[s] = ns;
        }
        printf("%5.1f s  %7.1f ns per round trip\n", (s + 1) / 10.0, best[s]);
    }
    bench_pp_stop();
    qsort(best, (size_t)slots, sizeof(double), cmp);
    printf("cache-line ping-pong, two pthreads: min %.1f  median %.1f  max %.1f ns per round trip\n", best[0],
           best[slots / 2], best[slots - 1]);
    free(best);
    return 0;
}
#endif
