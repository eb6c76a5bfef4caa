package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import javax.management.JMX;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/** EngineBuilder.jmx(true): an EngineMXBean registered with the engine and unregistered when it closes. */
class MXBeanTest {
    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();

    @Test
    void registeredWhileTheEngineRunsAndUnregisteredOnClose() throws Exception {
        ObjectName name = new ObjectName("io.ferry:type=Engine,name=mx-one");
        assertFalse(server.isRegistered(name));
        Engine engine = TestEngines.builder().name("mx-one").jmx(true).start();
        try {
            assertTrue(server.isRegistered(name), "registered at start");
            LongOp add = engine.longOp("add");
            long before = (Long) server.getAttribute(name, "Submitted");
            for (int i = 0; i < 25; i++) {
                add.call(i, i);
            }
            assertEquals(before + 25, (Long) server.getAttribute(name, "Submitted"));
            EngineMXBean proxy = JMX.newMXBeanProxy(server, name, EngineMXBean.class);
            assertEquals("mx-one", proxy.getName());
            assertEquals(0, proxy.getInFlight());
            assertTrue(proxy.getStats().contains("op add"), proxy.getStats());
        } finally {
            engine.close();
        }
        assertFalse(server.isRegistered(name), "unregistered on close");
    }

    @Test
    void offByDefaultAndTwoEnginesOfOneNameAreRefused() throws Exception {
        ObjectName name = new ObjectName("io.ferry:type=Engine,name=mx-two");
        try (Engine plain = TestEngines.builder().name("mx-two").start()) {
            assertFalse(server.isRegistered(name), "not registered without jmx(true)");
        }
        try (Engine first = TestEngines.builder().name("mx-two").jmx(true).start()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> TestEngines.builder().name("mx-two").jmx(true).start());
            assertTrue(e.getMessage().contains("distinct names"), e.getMessage());
            assertTrue(server.isRegistered(name), "the first engine's bean stays");
        }
        assertFalse(server.isRegistered(name));
    }
}
