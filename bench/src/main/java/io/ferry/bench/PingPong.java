package io.ferry.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The Java round-trip floor: the caller writes x to one padded cell, a spinning echo thread (a daemon
 * platform thread) sees it and writes x + 1 to another padded cell, and the caller spins until it reads
 * that. Two cache-line hand-offs per round trip and nothing else, which is the least any cross-thread call
 * can cost on this machine at this moment.
 *
 * <p>The two cells live in one {@code long[]}, 256 bytes apart, so each has its own 128-byte pair of
 * lines (the adjacent-line prefetcher works on pairs) and neither shares a line with the array header.
 *
 * <p>The echo thread can be paused: it then parks and uses no CPU, so that a Ferry burst measured in
 * between runs on a machine where only Ferry's threads compete for the two vCPUs.
 */
final class PingPong implements AutoCloseable {
    private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
    /** Element 16 is at byte 144 (16-byte header), element 48 at byte 400: different 128-byte pairs. */
    private static final int PING = 16, PONG = 48;
    private static final long PAUSE = -1, STOP = -2;

    private final long[] cells = new long[64];
    private final Thread echo;
    /** The caller's next value; positive and increasing, so it never repeats or equals PAUSE/STOP. */
    private long next = 1;

    PingPong() {
        echo = Thread.ofPlatform().daemon().name("pingpong-echo").start(this::echoLoop);
    }

    private void echoLoop() {
        long last = 0;
        for (;;) {
            // Pairs with the caller's setRelease of PING.
            long v = (long) CELL.getAcquire(cells, PING);
            if (v == last) {
                Thread.onSpinWait();
                continue;
            }
            last = v;
            if (v == STOP) {
                return;
            }
            if (v == PAUSE) {
                // Park until the caller writes a new value and unparks us (see resume).
                while ((long) CELL.getAcquire(cells, PING) == PAUSE) {
                    LockSupport.park(this);
                }
                continue;
            }
            // Pairs with the caller's getAcquire of PONG.
            CELL.setRelease(cells, PONG, v + 1);
        }
    }

    /** One round trip; returns the echoed value, which is always the value sent plus one. */
    long roundTrip() {
        long x = next++;
        CELL.setRelease(cells, PING, x);
        long want = x + 1;
        long r;
        while ((r = (long) CELL.getAcquire(cells, PONG)) != want) {
            Thread.onSpinWait();
        }
        return r;
    }

    /** Parks the echo thread and waits (bounded) until it is parked, so it stops using a vCPU. */
    void pause() {
        CELL.setRelease(cells, PING, PAUSE);
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (echo.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }

    /** Wakes a paused echo thread with one round trip (which pays the wake-up, ~45 µs here). */
    void resume() {
        long x = next++;
        // The new value first, then the unpark: the echo re-checks PING after every wake-up, so it
        // cannot miss this value and park again.
        CELL.setRelease(cells, PING, x);
        LockSupport.unpark(echo);
        while ((long) CELL.getAcquire(cells, PONG) != x + 1) {
            Thread.onSpinWait();
        }
    }

    @Override
    public void close() {
        CELL.setRelease(cells, PING, STOP);
        LockSupport.unpark(echo);
        try {
            echo.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
