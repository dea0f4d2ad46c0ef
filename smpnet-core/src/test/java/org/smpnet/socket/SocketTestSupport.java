package org.smpnet.socket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.charset.StandardCharsets;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;
import org.smpnet.kern.Filedesc;

/** Helpers for socket tests: an API over a fresh Vnet-less {@link Domains}, errno assertions. */
final class SocketTestSupport {
    private SocketTestSupport() {}

    static SocketApi api(String name) {
        return new SocketApi(new Domains(name), new Filedesc(), Ucred.of(100, 1000, 1000));
    }

    static SocketApi sameVnet(SocketApi other, Ucred cred) {
        return new SocketApi(domainsOf(other), new Filedesc(), cred);
    }

    static Domains domainsOf(SocketApi api) {
        try {
            var f = SocketApi.class.getDeclaredField("domains");
            f.setAccessible(true);
            return (Domains) f.get(api);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] b, int n) {
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    interface Call {
        void run() throws Exception;
    }

    /** Asserts that {@code c} fails with an ErrnoException of {@code e}. */
    static void assertErrno(Errno e, Call c) {
        Throwable t = catchThrowable(c::run);
        assertThat(t).isInstanceOf(ErrnoException.class);
        assertThat(((ErrnoException) t).errno()).as(String.valueOf(t)).isEqualTo(e);
    }
}
