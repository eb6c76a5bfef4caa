package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.child.ChildJvm;
import io.ferry.child.NiceRefused;
import io.ferry.child.Proc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** EngineBuilder.engineNice: the engine thread's nice value, and a clear refusal without the privilege. */
class EngineNiceTest {
    @Test
    void byDefaultTheEngineThreadHasItsStartersNiceValue() throws Exception {
        int mine = Proc.niceOfThisThread();
        try (Engine engine = TestEngines.builder().start()) {
            assertEquals(mine, engine.engineNice());
        }
    }

    @Test
    void engineNiceSetsTheEngineThreadAndNoOther() throws Exception {
        int mine = Proc.niceOfThisThread();
        int target = Math.min(19, mine + 2); // raising it needs no privilege
        try (Engine engine = TestEngines.builder().engineNice(target).start()) {
            assertEquals(target, engine.engineNice());
            assertEquals(mine, Proc.niceOfThisThread(), "the starting thread's nice value moved");
            assertEquals(42, engine.longOp("echo").call(42));
        }
    }

    @Test
    void outOfRangeIsRefusedByTheBuilder() {
        for (int bad : new int[] {-21, 20}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TestEngines.builder().engineNice(bad));
            assertTrue(e.getMessage().contains("-20..19"), e.getMessage());
        }
    }

    /**
     * A nice value below the current one without CAP_SYS_NICE fails the start with the OS's reason, and
     * the engine thread is joined. As root, the child JVM runs as nobody (setpriv) to lose the privilege.
     */
    @Test
    void lowerNiceWithoutThePrivilegeFailsTheStartAndLeavesNoEngineThread() throws Exception {
        boolean root = (int) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
        List<String> wrapper = root ? List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups") : List.of();
        ChildJvm.Result r = ChildJvm.runUnder(wrapper, NiceRefused.class, true, Duration.ofSeconds(60));
        assertEquals(0, r.exitCode(), r.describe());
        List<String> marks = r.marks();
        assertEquals(2, marks.size(), r.describe());
        assertTrue(marks.get(0).startsWith("refused code=-14 ") && marks.get(0).contains("CAP_SYS_NICE")
                && marks.get(0).contains("Permission denied"), r.describe());
        assertEquals("engine threads left=0", marks.get(1), r.describe());
    }
}
