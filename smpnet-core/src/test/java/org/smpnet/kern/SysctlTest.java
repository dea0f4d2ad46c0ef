package org.smpnet.kern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SysctlTest {
    private static SysctlException.Errno errno(Runnable r) {
        try {
            r.run();
        } catch (SysctlException e) {
            return e.errno();
        }
        throw new AssertionError("no SysctlException");
    }

    @Test
    @DisplayName("sysctl: typed nodes read and write, with range and type errors")
    void typedNodes() {
        Sysctl s = new Sysctl();
        Sysctl.IntOid maxthreads = s.addInt("net.isr.maxthreads", "threads", 1, 1, 64, true);
        Sysctl.BoolOid bool = s.addBool("net.isr.bindthreads", "bind", false, true);
        Sysctl.LongOid lng = s.addLong("kern.ipc.maxsockbuf", "max", 2_097_152L, 0, Long.MAX_VALUE, true);
        Sysctl.StringOid str = s.addString("kern.hostname", "name", "smpnet", true);
        Counter c = new Counter();
        s.addCounter("net.inet.ip.stats.total", "packets", c);
        s.addProc("kern.clockrate", "struct", () -> "{ hz = 1000 }");

        s.set("net.isr.maxthreads", "8");
        assertThat(maxthreads.get()).isEqualTo(8);
        s.set("net.isr.maxthreads", "0x10");
        assertThat(s.get("net.isr.maxthreads")).isEqualTo("16");
        assertThat(errno(() -> s.set("net.isr.maxthreads", "65"))).isEqualTo(SysctlException.Errno.EINVAL);
        assertThatThrownBy(() -> s.set("net.isr.maxthreads", "lots"))
                .hasMessageContaining("invalid value 'lots' for net.isr.maxthreads");
        assertThat(maxthreads.get()).isEqualTo(16);
        s.set("net.isr.bindthreads", "1");
        assertThat(bool.get()).isTrue();
        assertThat(errno(() -> s.set("net.isr.bindthreads", "maybe"))).isEqualTo(SysctlException.Errno.EINVAL);
        s.set("kern.ipc.maxsockbuf", "4194304");
        assertThat(lng.get()).isEqualTo(4_194_304L);
        s.set("kern.hostname", "host-a");
        assertThat(str.get()).isEqualTo("host-a");
        c.add(5);
        assertThat(s.get("net.inet.ip.stats.total")).isEqualTo("5");
        assertThat(errno(() -> s.set("net.inet.ip.stats.total", "3"))).isEqualTo(SysctlException.Errno.EINVAL);
        s.set("net.inet.ip.stats.total", "0");
        assertThat(c.get()).isZero();
        assertThat(s.get("kern.clockrate")).isEqualTo("{ hz = 1000 }");
        assertThat(errno(() -> s.set("kern.clockrate", "1"))).isEqualTo(SysctlException.Errno.EPERM);
    }

    @Test
    @DisplayName("sysctl: unknown names, lists by prefix, duplicates and leaf/node clashes are clear errors")
    void namesAndTree() {
        Sysctl s = new Sysctl();
        s.addInt("net.isr.maxthreads", "", 1, 1, 8, true);
        s.addInt("net.isr.numthreads", "", 1, 1, 8, false);
        s.addInt("net.isrx", "", 1, 1, 8, false);
        assertThatThrownBy(() -> s.get("net.isr.nothing")).isInstanceOf(SysctlException.class)
                .hasMessageContaining("unknown oid 'net.isr.nothing'");
        assertThat(s.list("net.isr")).extracting(Sysctl.Oid::name)
                .containsExactly("net.isr.maxthreads", "net.isr.numthreads");
        assertThat(errno(() -> s.list("kern"))).isEqualTo(SysctlException.Errno.ENOENT);
        assertThat(errno(() -> s.set("net.isr.numthreads", "2"))).isEqualTo(SysctlException.Errno.EPERM);
        assertThat(errno(() -> s.addInt("net.isr.maxthreads", "", 1, 1, 8, true))).isEqualTo(SysctlException.Errno.EEXIST);
        assertThat(errno(() -> s.addInt("net.isr", "", 1, 1, 8, true))).isEqualTo(SysctlException.Errno.ENOTDIR);
        assertThat(errno(() -> s.addInt("net.isr.maxthreads.sub", "", 1, 1, 8, true))).isEqualTo(SysctlException.Errno.ENOTDIR);
        assertThatThrownBy(() -> s.addInt("bad..name", "", 1, 1, 8, true)).isInstanceOf(IllegalArgumentException.class);
        assertThat(s.remove("net.isr")).isEqualTo(2);
        assertThat(s.list("")).extracting(Sysctl.Oid::name).containsExactly("net.isrx");
    }

    @Test
    @DisplayName("sysctl: tunables come from system properties at start; bad ones fail naming the property")
    void tunables() {
        System.setProperty("test.tunable.int", "7");
        System.setProperty("test.tunable.bad", "seven");
        System.setProperty("test.tunable.range", "99");
        try {
            Sysctl s = new Sysctl();
            assertThat(s.addInt("test.tunable.int", "", 1, 0, 10, true).get()).isEqualTo(7);
            assertThatThrownBy(() -> s.addInt("test.tunable.bad", "", 1, 0, 10, true))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tunable test.tunable.bad=seven");
            assertThatThrownBy(() -> s.addInt("test.tunable.range", "", 1, 0, 10, true))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out of range");
        } finally {
            System.clearProperty("test.tunable.int");
            System.clearProperty("test.tunable.bad");
            System.clearProperty("test.tunable.range");
        }
    }

    @Test
    @DisplayName("sysctl: the kernel tree carries WITNESS and Giant nodes")
    void kernelTree() {
        Sysctl k = Sysctl.kernel();
        assertThat(k.get("debug.witness.enable")).isEqualTo("1");
        assertThat(k.get("net.mpsafenet")).isIn("0", "1");
        assertThat(k.get("debug.witness.order")).contains("sockbuf -> rtentry");
        assertThat(k.list("debug.witness")).extracting(Sysctl.Oid::name).contains("debug.witness.reversals");
    }
}
