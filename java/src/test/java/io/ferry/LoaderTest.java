package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.child.ChildJvm;
import io.ferry.child.LibraryPathProbe;
import io.ferry.child.Proc;
import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where libferry comes from, and engines that nobody closes. */
class LoaderTest {
    static final Path BUILT = Path.of(System.getProperty("ferry.test.example")).resolveSibling("libferry.so");

    @Test
    void theLibraryIsBundledUnderMetaInfNative() {
        assertTrue(Engine.class.getResource("/META-INF/native/linux-x86_64/libferry.so") != null,
                "libferry.so is packaged as a resource");
        assertTrue(Engine.isAvailable(), () -> String.valueOf(Engine.unavailabilityCause()));
    }

    @Test
    void aSystemPropertyPointsFerryAtAnotherBuild() throws Exception {
        ChildJvm.Result ok = ChildJvm.run(LibraryPathProbe.class, true, Duration.ofSeconds(20), BUILT.toString());
        assertEquals(List.of("add=5"), ok.marks(), ok::describe);

        ChildJvm.Result bad = ChildJvm.run(LibraryPathProbe.class, true, Duration.ofSeconds(20), "/nonexistent/libferry.so");
        assertEquals(1, bad.marks().size(), bad::describe);
        String failure = bad.marks().get(0);
        assertTrue(failure.contains("ferry.library.path") && failure.contains("/nonexistent/libferry.so"),
                () -> "the error names the property and the file\n" + bad.describe());
    }

    @Test
    void anEngineNobodyClosesIsClosedOnceUnreachable() throws Exception {
        long before = Proc.threadsNamed("forgotten");
        WeakReference<Engine> ref = startAndForget();
        assertEquals(before + 1, Proc.threadsNamed("forgotten"), "an engine thread was started");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while ((ref.get() != null || Proc.threadsNamed("forgotten") > before) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertEquals(null, ref.get(), "the engine became unreachable");
        assertEquals(before, Proc.threadsNamed("forgotten"), "the Cleaner closed it and its thread was joined");
    }

    private static WeakReference<Engine> startAndForget() {
        Engine engine = TestEngines.builder().name("forgotten").start();
        assertEquals(7, engine.longOp("add").call(3, 4));
        return new WeakReference<>(engine);
    }
}
