/* Internal declarations shared by libferry's translation units. Not installed, not exported. */
#ifndef FERRY_INTERNAL_H
#define FERRY_INTERNAL_H

#include "ferry.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/* C11 atomics behind named macros, in the manner of liburing's barrier.h. Each use says what it pairs
 * with at the call site. */
#define ferry__load_acquire(p)        atomic_load_explicit((p), memory_order_acquire)
#define ferry__load_relaxed(p)        atomic_load_explicit((p), memory_order_relaxed)
#define ferry__load_seq_cst(p)        atomic_load_explicit((p), memory_order_seq_cst)
#define ferry__store_release(p, v)    atomic_store_explicit((p), (v), memory_order_release)
#define ferry__store_relaxed(p, v)    atomic_store_explicit((p), (v), memory_order_relaxed)
#define ferry__store_seq_cst(p, v)    atomic_store_explicit((p), (v), memory_order_seq_cst)
#define ferry__fetch_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define ferry__exchange_acq_rel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define ferry__cas_acq_rel(p, expected, v) \
    atomic_compare_exchange_weak_explicit((p), (expected), (v), memory_order_acq_rel, memory_order_relaxed)

#if defined(__x86_64__) || defined(__i386__)
#define ferry__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define ferry__cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define ferry__cpu_relax() ((void)0)
#endif

#define FERRY__NOT_CLOSED UINT64_MAX
#define FERRY__MSG_MAX 512

typedef struct ferry__op {
    char *name;
    ferry_op_fn fn;
    void *data;
    uint32_t flags;
} ferry__op;

typedef struct ferry__hook {
    void (*fn)(void *data);
    void *data;
} ferry__hook;

struct ferry_registry {
    ferry__op *ops;
    int32_t count;
    int32_t cap;
    ferry_context_open_fn ctx_open;
    ferry_context_close_fn ctx_close;
    void *ctx_hook_data;
    ferry__hook *on_close;
    int32_t on_close_count;
    int32_t on_close_cap;
    ferry__hook *on_idle;
    int32_t on_idle_count;
    int32_t on_idle_cap;
    ferry__hook *on_cancel; /* read by cancellers on any thread: fixed once sealed */
    int32_t on_cancel_count;
    int32_t on_cancel_cap;
    bool sealed;             /* set once init finished: no more registrations */
    const char *arg;         /* the engine's configuration string */
    int fail_code;
    char fail_msg[FERRY__MSG_MAX];
};

typedef struct ferry__var {
    char *name;              /* NULL: empty bucket; FERRY__TOMBSTONE: deleted */
    uint32_t type;
    uint32_t frozen;
    int64_t i64;
    double f64;
    void *bytes;             /* STRING (with a NUL after len) and BYTES */
    size_t len;
} ferry__var;

/* A scope: open addressing, linear probing, power-of-two buckets, at most 3/4 full. */
typedef struct ferry__scope {
    ferry__var *buckets;
    uint32_t cap;
    uint32_t used;           /* live + tombstones */
    uint32_t live;
} ferry__scope;

typedef struct ferry__ctx {
    uint32_t index;          /* its place in the table: the low half of its id */
    uint32_t generation;     /* bumped on close; ids carry it */
    bool open;
    uint32_t flags;          /* FERRY_CTX_* */
    uint64_t parent;
    char *name;
    int32_t *ops;            /* sorted op ids, or NULL: every op */
    uint32_t op_count;
    ferry__scope scope;
    void *engine_data;       /* from the engine's context open hook */
    uint64_t created;        /* creation order, to close children before parents at stop */
} ferry__ctx;

typedef struct ferry__contexts {
    ferry__ctx **items;      /* one allocation each: pointers stay valid while the table grows */
    uint32_t count;
    uint32_t cap;
    uint32_t *free;          /* indexes of closed contexts, reused */
    uint32_t free_count;
    uint32_t free_cap;
    uint64_t created;
} ferry__contexts;

struct ferry_call {
    ferry_engine *engine;
    ferry_cell *cell;        /* the caller's completion cell (a batch item's: its slot's) */
    uint64_t seq;
    uint64_t ctx_id;         /* the slot's ctx, copied before the slot was freed */
    ferry__ctx *ctx;         /* resolved before the op runs */
    int64_t arg[2];          /* the slot's arg0/arg1, or a batch item's */
    const void *input;
    size_t input_len;
    int64_t result;
    void *out;
    size_t out_len;
    int err;
    char *err_msg;           /* malloc'd, or NULL */
};

struct ferry_engine {
    ferry_region *region;
    uint32_t capacity;
    uint64_t mask;
    /* The idle policy (ferry_engine_set_idle): written by the host, read relaxed by the engine thread at
     * each clock read of an idle spin, so that it may change while the engine runs. */
    _Atomic int64_t idle_spin_ns;
    _Atomic int64_t idle_yield_after_ns;
    _Atomic int64_t idle_preempted_ns;
    _Atomic int64_t idle_step_aside_ns;
    int64_t idle_calm_until; /* engine thread only: until then every idle spell sleeps at once */
    ferry_wake_fn wake;
    pthread_t thread;
    clockid_t cpu_clock;
    int cpu_clock_ok;
    pid_t tid; /* the engine thread's kernel id, for setpriority; set before start returns */

    /* start handshake: the engine thread reports its init result under this lock */
    pthread_mutex_t start_mu;
    pthread_cond_t start_cv;
    int start_done;
    int start_rc;
    char start_msg[FERRY__MSG_MAX];

    char *plugin_path;
    char *init_symbol;
    char *init_arg;
    void *plugin;            /* dlopen handle */

    ferry_registry reg;
    ferry__contexts contexts;

    /* First sequence not accepted, FERRY__NOT_CLOSED while intake is open. Written once by
     * ferry_engine_stop (seq_cst store, pairs with the engine's seq_cst load before it sleeps). */
    _Atomic uint64_t closed_at;
    _Atomic int joined;

    /* Cancellation (ferry_engine_cancel), used only when a cancel hook is registered (cancel_hooked,
     * fixed once init finished). A block of its own: cancellers write it, the engine's hot fields above
     * stay in lines they never touch. */
    bool cancel_hooked;
    uint8_t cancel_pad[FERRY_BLOCK];
    _Atomic uint64_t cancel_running; /* seq + 1 of the call inside its cancel window, 0 between calls */
    _Atomic uint32_t cancellers;     /* cancellers between their announcement and their retreat */
    _Atomic(ferry_counters *) counters; /* counters: the host's block (ferry_counters.c), NULL until attached */
};

/* A published slot of sequence head is ready to run: its state reads (head << 8) | PUBLISHED (flags
 * aside). */
static inline bool ferry__ready(uint64_t head, uint64_t state)
{
    return (state >> FERRY_SEQ_SHIFT) == head && (state & FERRY_PHASE_MASK) == FERRY_PHASE_PUBLISHED;
}

/* The engine's idle spell (ferry_idle.c): when it began, polls since, and whether the on-idle hooks ran. */
typedef struct ferry__idle {
    int64_t since;
    int64_t last; /* the previous clock read of this spell */
    uint64_t tail_mark; /* the tail at that clock read: whether producers claimed calls since */
    uint32_t polls;
    bool hooked;
    bool yielding; /* past the spell's yield point: sched_yield between polls */
} ferry__idle;

/* The engine thread (ferry_loop.c): its start routine. */
void *ferry__main(void *arg);

/* The consumer step (ferry_step.c): runs every call published in order from head; returns the new head
 * (head itself when none was ready). Engine thread only. */
uint64_t ferry__drain(ferry_engine *e, uint64_t head);

/* Idling (ferry_idle.c), engine thread only: ferry__idle_busy after calls ran, ferry__idle_poll once per
 * poll that found none (it spins, runs the on-idle hooks, or sleeps until woken). */
void ferry__idle_busy(ferry__idle *idle);
/* The engine's half of the sleep Dekker pair: announces sleeping = 1, then re-checks; returns true if
 * the engine may sleep (no call published at head, and not stopped at head). */
bool ferry__sleep_announce(ferry_engine *e, uint64_t head);
void ferry__idle_poll(ferry_engine *e, ferry__idle *idle, uint64_t head);

/* Cancel windows (ferry_cancel.c): around each call, only when a cancel hook is registered. */
void ferry__cancel_window_open(ferry_engine *e, uint64_t seq);
void ferry__cancel_window_close(ferry_engine *e);

/* The registry's hooks and teardown (ferry_registry.c), engine thread only. */
void ferry__registry_run_on_idle(ferry_registry *reg);
void ferry__registry_run_on_close(ferry_registry *reg);
void ferry__registry_free(ferry_registry *reg);

/* Copies a message into a caller's buffer (NULL or 0 bytes: nothing), always NUL-terminated. */
void ferry__copy_msg(char *dst, size_t dstlen, const char *src);

/* Contexts (ferry_context.c), all on the engine thread. */
int ferry__register_system_ops(ferry_registry *reg, ferry_engine *e);
/* ferry_register_op without the public restrictions (system flag and the "ferry." prefix). */
int32_t ferry__register_op(ferry_registry *reg, const char *name, ferry_op_fn fn, void *data, uint32_t flags);
int ferry__contexts_init(ferry_engine *e, char *err, size_t errlen); /* creates the systemic context */
ferry__ctx *ferry__context_resolve(ferry_engine *e, uint64_t id);
/* 0 if op may run in ctx; otherwise fails the call with FERRY_E_DENIED and returns it. */
int ferry__context_authorize(ferry_call *c, const ferry__op *op, int32_t op_id);
void ferry__contexts_close_all(ferry_engine *e);

int64_t ferry__now_ns(void);

#endif /* FERRY_INTERNAL_H */
