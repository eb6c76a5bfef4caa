package io.ferry.spi;

import io.ferry.internal.FerryNative;
import java.lang.foreign.MemorySegment;

/**
 * Native memory that crosses to the engine side: allocated here by Java, freed by the engine's C code with
 * {@code ferry_free} (for example a result an SQL function written in Java hands to SQLite).
 */
public final class EngineMemory {
    private EngineMemory() {
    }

    /**
     * Allocates {@code bytes} bytes with Ferry's allocator; the C side owns them and frees them with
     * {@code ferry_free}.
     *
     * @param bytes how many bytes, at least 0
     * @return a segment of exactly {@code bytes} bytes
     * @throws OutOfMemoryError if the allocator has no memory for them
     */
    @SuppressWarnings("restricted")
    public static MemorySegment allocate(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes=" + bytes + ": must be at least 0");
        }
        MemorySegment p = FerryNative.ferry_alloc(bytes);
        if (p.equals(MemorySegment.NULL)) {
            throw new OutOfMemoryError("Ferry's allocator has no " + bytes + " bytes of native memory");
        }
        return p.reinterpret(bytes);
    }
}
