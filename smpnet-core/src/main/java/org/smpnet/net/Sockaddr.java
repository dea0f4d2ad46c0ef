package org.smpnet.net;

import java.util.Objects;

/**
 * A socket address ({@code struct sockaddr}) of one address family. Immutable values: {@link In} for IPv4,
 * {@link In6} for IPv6, {@link Un} for UNIX-domain paths, {@link Dl} for link-layer (interface) addresses as
 * routing messages carry them, {@link Route} for the sender of a routing-socket message.
 */
public sealed interface Sockaddr {
    int AF_UNSPEC = 0;
    int AF_UNIX = 1;
    int AF_INET = 2;
    int AF_ROUTE = 17;
    int AF_LINK = 18;
    int AF_INET6 = 28;

    /** The address family ({@code sa_family}). */
    int family();

    /** {@code sockaddr_in}: an IPv4 address and port (0..65535). */
    record In(InAddr addr, int port) implements Sockaddr {
        public In {
            Objects.requireNonNull(addr, "addr");
            if (port < 0 || port > 0xffff) {
                throw new IllegalArgumentException("port " + port + " not in 0..65535");
            }
        }

        /** {@code In.of("10.0.0.1", 53)}. */
        public static In of(String addr, int port) {
            return new In(InAddr.parse(addr), port);
        }

        @Override
        public int family() {
            return AF_INET;
        }

        @Override
        public String toString() {
            return addr + ":" + port;
        }
    }

    /** {@code sockaddr_in6}: an IPv6 address, port, flow info and scope (interface index for link-local). */
    record In6(In6Addr addr, int port, int flowinfo, int scopeId) implements Sockaddr {
        public In6 {
            Objects.requireNonNull(addr, "addr");
            if (port < 0 || port > 0xffff) {
                throw new IllegalArgumentException("port " + port + " not in 0..65535");
            }
        }

        @Override
        public int family() {
            return AF_INET6;
        }

        @Override
        public String toString() {
            return "[" + addr + (scopeId != 0 ? "%" + scopeId : "") + "]:" + port;
        }
    }

    /** {@code sockaddr_un}: a UNIX-domain path (at most 103 bytes, as {@code sun_path[104]} with its NUL). */
    record Un(String path) implements Sockaddr {
        public static final int MAX_PATH = 103;

        public Un {
            Objects.requireNonNull(path, "path");
            if (path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_PATH) {
                throw new IllegalArgumentException("UNIX-domain path longer than " + MAX_PATH + " bytes");
            }
        }

        @Override
        public int family() {
            return AF_UNIX;
        }

        @Override
        public String toString() {
            return path;
        }
    }

    /** {@code sockaddr_dl}: an interface by index and name, with its link-layer address (may be empty). */
    record Dl(int index, String name, byte[] lladdr) implements Sockaddr {
        public Dl {
            Objects.requireNonNull(name, "name");
            lladdr = lladdr == null ? new byte[0] : lladdr.clone();
        }

        @Override
        public byte[] lladdr() {
            return lladdr.clone();
        }

        @Override
        public int family() {
            return AF_LINK;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Dl d && d.index == index && d.name.equals(name)
                    && java.util.Arrays.equals(d.lladdr, lladdr);
        }

        @Override
        public int hashCode() {
            return Objects.hash(index, name, java.util.Arrays.hashCode(lladdr));
        }

        @Override
        public String toString() {
            return "link#" + index + (name.isEmpty() ? "" : " (" + name + ")");
        }
    }

    /**
     * The source address of every message a routing socket receives ({@code route_src} of {@code rtsock.c}):
     * a bare {@code struct sockaddr} of family {@code AF_ROUTE}, two bytes long.
     */
    record Route() implements Sockaddr {
        /** The one value. */
        public static final Route SRC = new Route();

        @Override
        public int family() {
            return AF_ROUTE;
        }

        @Override
        public String toString() {
            return "route";
        }
    }
}
