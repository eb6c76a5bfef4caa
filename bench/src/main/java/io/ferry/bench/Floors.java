package io.ferry.bench;

/** The floors: what a cross-thread round trip costs at least here, and what not offloading costs. */
final class Floors {
    private Floors() {
    }

    /** Two Java threads ping-pong through two padded longs ({@link PingPong}). */
    static final class JavaFloor extends CallPath {
        private final PingPong pingPong = new PingPong();
        private boolean paused;

        JavaFloor() {
            super("java_floor", 1000, 200);
        }

        @Override
        void run(int n) {
            PingPong pp = pingPong;
            for (int i = 0; i < n; i++) {
                pp.roundTrip(); // checks its own result: it spins until it reads exactly x + 1
            }
        }

        @Override
        void resume() {
            if (paused) {
                pingPong.resume();
                paused = false;
            }
        }

        @Override
        void quiesce() {
            pingPong.pause();
            paused = true;
        }

        @Override
        public void close() {
            pingPong.close();
        }
    }

    /** Two pthreads ping-pong one cache line (benchfloor.c); one downcall per burst. */
    static final class CFloor extends CallPath {
        private long expect;
        private boolean paused;

        CFloor() {
            super("c_floor", 1000, 200);
            try {
                int rc = (int) BenchFloor.PP_START.invokeExact();
                if (rc != 0) {
                    throw new IllegalStateException("bench_pp_start failed: " + rc);
                }
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        @Override
        void run(int n) {
            try {
                long last = (long) BenchFloor.PP_RUN.invokeExact((long) n);
                expect += 2L * n;
                if (last != expect) {
                    throw new IllegalStateException("c_floor: echo wrote " + last + ", expected " + expect);
                }
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        @Override
        void resume() {
            if (paused) {
                try {
                    BenchFloor.PP_RESUME.invokeExact();
                } catch (Throwable t) {
                    throw rethrow(t);
                }
                paused = false;
            }
        }

        @Override
        void quiesce() {
            try {
                BenchFloor.PP_PAUSE.invokeExact();
            } catch (Throwable t) {
                throw rethrow(t);
            }
            paused = true;
        }

        @Override
        public void close() {
            try {
                BenchFloor.PP_STOP.invokeExact();
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /** The trivial op as a direct FFM downcall on the caller's thread: no second thread at all. */
    static final class Direct extends CallPath {
        private final boolean critical;
        private long x = 1;

        Direct(String name, boolean critical) {
            super(name, 10_000, 1000);
            this.critical = critical;
        }

        @Override
        void run(int n) {
            long x = this.x;
            try {
                if (critical) {
                    for (int i = 0; i < n; i++, x++) {
                        long r = (long) BenchFloor.ADD_CRITICAL.invokeExact(x, 1L);
                        if (r != x + 1) {
                            throw wrong(name, x, r);
                        }
                    }
                } else {
                    for (int i = 0; i < n; i++, x++) {
                        long r = (long) BenchFloor.ADD.invokeExact(x, 1L);
                        if (r != x + 1) {
                            throw wrong(name, x, r);
                        }
                    }
                }
            } catch (Throwable t) {
                throw rethrow(t);
            }
            this.x = x;
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
