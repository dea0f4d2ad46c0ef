package org.smpnet.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.kern.Errno;
import org.smpnet.kern.ErrnoException;

/**
 * R-RT-1: routing messages in FreeBSD's amd64 layout. Struct sizes are those of FreeBSD's headers:
 * {@code rt_msghdr} 152 (40 bytes of fields, then {@code rt_metrics}: 14 {@code u_long}s), {@code if_data} 152,
 * {@code if_msghdr} 16 + 152, {@code ifa_msghdr} 20, {@code if_announcemsghdr} 24; sockaddrs padded to 8.
 */
class RtMsgTest {
    private static final Sockaddr NET = new Sockaddr.In(InAddr.parse("10.1.0.0"), 0);
    private static final Sockaddr GW = new Sockaddr.In(InAddr.parse("10.0.0.254"), 0);
    private static final Sockaddr MASK = new Sockaddr.In(InAddr.parse("255.255.0.0"), 0);

    private static int u16(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8;
    }

    private static int i32(byte[] b, int off) {
        return u16(b, off) | u16(b, off + 2) << 16;
    }

    @Test
    @DisplayName("R-RT-1: rt_msghdr is 152 bytes with FreeBSD's field offsets; sockaddr_in follow, 16 bytes each")
    void routeLayout() throws Exception {
        RtMsg.Route m = new RtMsg.Route(Rtm.RTM_ADD, 3, Rtentry.RTF_UP | Rtentry.RTF_GATEWAY | Rtentry.RTF_STATIC, 42, 7,
                0, 0, Rtm.RTV_MTU, RtMsg.Metrics.of(1400, 9), new RtAddrs(NET, GW, MASK, null, null, null, null, null));
        byte[] b = m.emit();
        assertThat(RtMsg.RT_MSGHDR_LEN).isEqualTo(152);
        assertThat(b).hasSize(152 + 3 * 16);
        assertThat(u16(b, 0)).as("rtm_msglen").isEqualTo(b.length);
        assertThat(b[2]).as("rtm_version").isEqualTo((byte) 5);
        assertThat(b[3]).as("rtm_type").isEqualTo((byte) Rtm.RTM_ADD);
        assertThat(u16(b, 4)).as("rtm_index").isEqualTo(3);
        assertThat(i32(b, 8)).as("rtm_flags").isEqualTo(0x803);
        assertThat(i32(b, 12)).as("rtm_addrs").isEqualTo(Rtm.RTA_DST | Rtm.RTA_GATEWAY | Rtm.RTA_NETMASK);
        assertThat(i32(b, 16)).as("rtm_pid").isEqualTo(42);
        assertThat(i32(b, 20)).as("rtm_seq").isEqualTo(7);
        assertThat(i32(b, 32)).as("rtm_inits").isEqualTo(Rtm.RTV_MTU);
        assertThat(i32(b, 48)).as("rmx_mtu, second u_long of rt_metrics").isEqualTo(1400);
        assertThat(i32(b, 40 + 9 * 8)).as("rmx_pksent").isEqualTo(9);
        assertThat(Arrays.copyOfRange(b, 152, 168)).as("sockaddr_in of the destination")
                .containsExactly(16, 2, 0, 0, 10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        assertThat(Arrays.copyOfRange(b, 168, 176)).containsExactly(16, 2, 0, 0, 10, 0, 0, (byte) 254);
        assertThat(Arrays.copyOfRange(b, 184, 192)).containsExactly(16, 2, 0, 0, (byte) 255, (byte) 255, 0, 0);
        assertThat(RtMsg.parse(b)).isEqualTo(m);
    }

    @Test
    @DisplayName("R-RT-1: sockaddr_in6 (28) pads to 32, sockaddr_dl (54) to 56; ifa/if/announce headers are 20/168/24")
    void otherLayouts() throws Exception {
        Sockaddr dst6 = new Sockaddr.In6(In6Addr.parse("2001:db8::"), 0, 0, 0);
        Sockaddr dl = new Sockaddr.Dl(2, "epair0a", new byte[] {2, 0, 0, 0, 0, 1});
        byte[] r = RtMsg.Route.request(Rtm.RTM_GET, 1, 0, RtAddrs.NONE.with(Rtm.RTAX_DST, dst6).with(Rtm.RTAX_IFP, dl)).emit();
        assertThat(r).hasSize(152 + 32 + 56);
        assertThat(r[152]).isEqualTo((byte) 28);
        assertThat(r[153]).isEqualTo((byte) 28);
        assertThat(r[152 + 32]).as("sdl_len").isEqualTo((byte) 54);
        assertThat(r[152 + 32 + 1]).as("sdl_family").isEqualTo((byte) Sockaddr.AF_LINK);
        assertThat(u16(r, 152 + 32 + 2)).as("sdl_index").isEqualTo(2);
        assertThat(r[152 + 32 + 5]).as("sdl_nlen").isEqualTo((byte) 7);
        assertThat(r[152 + 32 + 6]).as("sdl_alen").isEqualTo((byte) 6);
        assertThat(new String(r, 152 + 32 + 8, 7, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("epair0a");

        RtMsg.Ifa ifa = new RtMsg.Ifa(Rtm.RTM_NEWADDR, 2, 1, 0, RtAddrs.NONE.with(Rtm.RTAX_IFA, GW).with(Rtm.RTAX_NETMASK, MASK));
        byte[] a = ifa.emit();
        assertThat(a).hasSize(20 + 16 + 16);
        assertThat(i32(a, 4)).as("ifam_addrs").isEqualTo(Rtm.RTA_NETMASK | Rtm.RTA_IFA);
        assertThat(u16(a, 12)).as("ifam_index").isEqualTo(2);
        assertThat(a[20]).as("netmask first (RTAX order)").isEqualTo((byte) 16);
        assertThat(a[20 + 16 + 4]).as("then the address").isEqualTo((byte) 10);
        assertThat(RtMsg.parse(a)).isEqualTo(ifa);

        RtMsg.If ifm = new RtMsg.If(2, IfFlags.UP | IfFlags.RUNNING, new RtMsg.IfData(6, 6, 14, 2, 1500, 0, 0,
                new long[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}), RtAddrs.NONE);
        byte[] f = ifm.emit();
        assertThat(f).hasSize(168);
        assertThat(u16(f, 12)).as("ifm_index").isEqualTo(2);
        assertThat(f[16]).as("ifi_type").isEqualTo((byte) 6);
        assertThat(f[16 + 4]).as("ifi_link_state").isEqualTo((byte) 2);
        assertThat(u16(f, 16 + 6)).as("ifi_datalen").isEqualTo(152);
        assertThat(i32(f, 16 + 8)).as("ifi_mtu").isEqualTo(1500);
        assertThat(i32(f, 16 + 24)).as("ifi_ipackets").isEqualTo(1);
        assertThat(RtMsg.parse(f)).isEqualTo(ifm);

        RtMsg.Announce an = new RtMsg.Announce(5, "vlan100", Rtm.IFAN_DEPARTURE);
        byte[] n = an.emit();
        assertThat(n).hasSize(24);
        assertThat(u16(n, 4)).isEqualTo(5);
        assertThat(new String(n, 6, 7, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("vlan100");
        assertThat(u16(n, 22)).as("ifan_what").isEqualTo(1);
        assertThat(RtMsg.parse(n)).isEqualTo(an);
    }

    @Test
    @DisplayName("R-RT-1: malformed routing messages are refused with EINVAL (EPROTONOSUPPORT for another version)")
    void malformed() {
        byte[] good = RtMsg.Route.request(Rtm.RTM_ADD, 1, 0, new RtAddrs(NET, GW, MASK, null, null, null, null, null)).emit();
        assertErrno(new byte[3], Errno.EINVAL);
        assertErrno(Arrays.copyOf(good, good.length - 1), Errno.EINVAL); // msglen says more
        byte[] v = good.clone();
        v[2] = 4;
        assertErrno(v, Errno.EPROTONOSUPPORT);
        byte[] t = good.clone();
        t[3] = 0x55;
        assertErrno(t, Errno.EINVAL);
        byte[] mask = good.clone();
        mask[13] = 1; // an address bit past RTAX_MAX
        assertErrno(mask, Errno.EINVAL);
        byte[] over = good.clone();
        over[152 + 32] = (byte) 200; // the netmask runs past the end
        assertErrno(over, Errno.EINVAL);
        byte[] fam = good.clone();
        fam[153] = 99;
        assertErrno(fam, Errno.EINVAL);
        byte[] shortSin = good.clone();
        shortSin[152] = 10;
        assertErrno(shortSin, Errno.EINVAL);
        byte[] hdr = Arrays.copyOf(good, 100);
        hdr[0] = 100;
        assertErrno(hdr, Errno.EINVAL); // shorter than rt_msghdr
        byte[] missing = Arrays.copyOf(good, 152 + 16);
        missing[0] = (byte) missing.length;
        missing[1] = 0;
        assertErrno(missing, Errno.EINVAL); // RTA_GATEWAY announced, not there
        byte[] ann = new RtMsg.Announce(1, "lo0", 0).emit();
        Arrays.fill(ann, 6, 22, (byte) 'x');
        assertErrno(ann, Errno.EINVAL); // name without its NUL
    }

    private static void assertErrno(byte[] b, Errno e) {
        assertThatThrownBy(() -> RtMsg.parse(b)).isInstanceOfSatisfying(ErrnoException.class, x -> assertThat(x.errno()).isEqualTo(e));
    }

    @Property(tries = 500)
    @Label("R-RT-1: parse(emit(m)) == m for random route, address, interface and announce messages")
    void roundTrip(@ForAll long seed) throws Exception {
        Random rnd = new Random(seed);
        RtMsg m = randomMsg(rnd);
        byte[] b = m.emit();
        assertThat(b.length % 8 == 0 || m instanceof RtMsg.Ifa || m instanceof RtMsg.Announce).isTrue();
        assertThat(RtMsg.parse(b)).isEqualTo(m);
    }

    @Property(tries = 1000)
    @Label("R-RT-1: random and mutated bytes never make parse throw anything but ErrnoException")
    void noExceptionEscapes(@ForAll long seed) {
        Random rnd = new Random(seed);
        byte[] b;
        if (rnd.nextBoolean()) {
            b = randomMsg(rnd).emit();
            for (int i = rnd.nextInt(4); i >= 0; i--) {
                b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            }
        } else {
            b = new byte[rnd.nextInt(400)];
            rnd.nextBytes(b);
            if (b.length >= 4) {
                b[0] = (byte) b.length;
                b[1] = (byte) (b.length >>> 8);
                b[2] = 5;
                b[3] = (byte) (1 + rnd.nextInt(0x11));
            }
        }
        try {
            RtMsg m = RtMsg.parse(b);
            assertThat(RtMsg.parse(m.emit())).isEqualTo(m);
        } catch (ErrnoException e) {
            assertThat(e.errno()).isIn(Errno.EINVAL, Errno.EPROTONOSUPPORT);
            assertThat(e.getCause()).as("a check, not a caught bug: %s", e.getMessage()).isNull();
        }
    }

    static RtMsg randomMsg(Random rnd) {
        return switch (rnd.nextInt(4)) {
            case 0 -> {
                int[] types = {Rtm.RTM_ADD, Rtm.RTM_DELETE, Rtm.RTM_CHANGE, Rtm.RTM_GET, Rtm.RTM_MISS, Rtm.RTM_REDIRECT};
                long[] m = new long[12];
                for (int i = 0; i < m.length; i++) {
                    m[i] = rnd.nextLong();
                }
                yield new RtMsg.Route(types[rnd.nextInt(types.length)], rnd.nextInt(65536), rnd.nextInt(), rnd.nextInt(),
                        rnd.nextInt(), rnd.nextInt(100), rnd.nextInt(), rnd.nextLong(), RtMsg.Metrics.fromArray(m), randomAddrs(rnd));
            }
            case 1 -> new RtMsg.Ifa(rnd.nextBoolean() ? Rtm.RTM_NEWADDR : Rtm.RTM_DELADDR, rnd.nextInt(65536), rnd.nextInt(),
                    rnd.nextInt(), randomAddrs(rnd).with(Rtm.RTAX_DST, null));
            case 2 -> {
                long[] c = new long[IfCounter.values().length];
                for (int i = 0; i < c.length; i++) {
                    c[i] = rnd.nextLong();
                }
                yield new RtMsg.If(rnd.nextInt(65536), rnd.nextInt(), new RtMsg.IfData(rnd.nextInt(256), rnd.nextInt(256),
                        rnd.nextInt(256), rnd.nextInt(3), rnd.nextInt(), rnd.nextInt(), rnd.nextLong(), c),
                        rnd.nextBoolean() ? RtAddrs.NONE : RtAddrs.NONE.with(Rtm.RTAX_IFP, randomDl(rnd)));
            }
            default -> new RtMsg.Announce(rnd.nextInt(65536), "if" + rnd.nextInt(100000), rnd.nextInt(2));
        };
    }

    private static RtAddrs randomAddrs(Random rnd) {
        boolean v6 = rnd.nextBoolean();
        Sockaddr[] a = new Sockaddr[Rtm.RTAX_MAX];
        for (int i = 0; i < a.length; i++) {
            if (rnd.nextInt(3) == 0) {
                continue;
            }
            a[i] = switch (i) {
                case Rtm.RTAX_NETMASK -> v6 ? new Sockaddr.In6(new In6Addr(rnd.nextLong(), rnd.nextLong()), 0, 0, 0)
                        : new Sockaddr.In(new InAddr(rnd.nextInt()), 0);
                case Rtm.RTAX_IFP -> randomDl(rnd);
                default -> rnd.nextInt(4) == 0 ? randomDl(rnd) : v6
                        ? new Sockaddr.In6(new In6Addr(rnd.nextLong(), rnd.nextLong()), rnd.nextInt(65536), rnd.nextInt(), rnd.nextInt())
                        : new Sockaddr.In(new InAddr(rnd.nextInt()), rnd.nextInt(65536));
            };
        }
        if (v6 && a[Rtm.RTAX_DST] == null && a[Rtm.RTAX_NETMASK] != null) {
            a[Rtm.RTAX_DST] = new Sockaddr.In6(In6Addr.parse("2001:db8::"), 0, 0, 0); // a v6 mask needs a v6 destination
        }
        if (a[Rtm.RTAX_DST] instanceof Sockaddr.Dl && a[Rtm.RTAX_NETMASK] != null) {
            a[Rtm.RTAX_DST] = v6 ? new Sockaddr.In6(In6Addr.parse("2001:db8::"), 0, 0, 0) : new Sockaddr.In(InAddr.ANY, 0);
        }
        return RtAddrs.of(a);
    }

    private static Sockaddr.Dl randomDl(Random rnd) {
        byte[] ll = new byte[rnd.nextInt(3) == 0 ? 0 : 6];
        rnd.nextBytes(ll);
        return new Sockaddr.Dl(rnd.nextInt(65536), rnd.nextBoolean() ? "" : "epair" + rnd.nextInt(1000) + "a", ll);
    }
}
