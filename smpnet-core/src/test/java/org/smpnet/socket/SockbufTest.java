package org.smpnet.socket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.smpnet.socket.SocketTestSupport.assertErrno;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.smpnet.kern.Errno;
import org.smpnet.kern.LockAssertionError;
import org.smpnet.net.Mbuf;
import org.smpnet.net.Sockaddr;

class SockbufTest {
    private final Domains domains = new Domains("sbtest");

    private Socket dgram() throws Exception {
        return domains.socreate(Sockaddr.AF_UNIX, SocketConst.SOCK_DGRAM, 0, Ucred.KERNEL);
    }

    @Test
    @DisplayName("R-SO-2: every accounting change asserts the buffer lock (SOCKBUF_LOCK_ASSERT), also from another thread's view")
    @SuppressWarnings("GuardedBy") // deliberately unlocked: the assertion is what is tested
    void lockAsserted() throws Exception {
        Socket so = dgram();
        Mbuf m = Mbuf.devget(new byte[10], 0, 10, Mbuf.M_WAITOK);
        assertThatThrownBy(() -> so.rcv().sbappendaddr(null, m, null)).isInstanceOf(LockAssertionError.class)
                .hasMessageContaining("so_rcv");
        assertThatThrownBy(() -> so.rcv().sbreserve(100)).isInstanceOf(LockAssertionError.class);
        assertThatThrownBy(() -> so.snd().sbspace()).isInstanceOf(LockAssertionError.class);
        assertThatThrownBy(() -> so.rcv().sbflush()).isInstanceOf(LockAssertionError.class);
        m.freem();
        so.soclose();
    }

    @Test
    @DisplayName("R-SO-1: cc, ctl and mbcnt follow appends and removals exactly; a full buffer refuses a datagram")
    @SuppressWarnings("GuardedBy") // the lambdas run on this thread, which holds sb.mtx
    void accounting() throws Exception {
        Socket so = dgram();
        Sockbuf sb = so.rcv();
        sb.mtx.lock();
        try {
            sb.sbreserve(1000);
            assertThat(sb.sbspace()).isEqualTo(1000);
            Mbuf m = Mbuf.devget(new byte[300], 0, 300, Mbuf.M_WAITOK);
            int charge = 0;
            for (Mbuf x = m; x != null; x = x.next()) {
                charge += Sockbuf.charge(x);
            }
            Sockaddr from = new Sockaddr.Un("/x");
            List<Cmsg> ctl = List.of(new Cmsg.Data(1, 2, new byte[5]));
            assertThat(sb.sbappendaddr(from, m, ctl)).isTrue();
            assertThat(sb.cc()).isEqualTo(300);
            assertThat(sb.ctl()).isEqualTo(106 + 24);
            assertThat(sb.mbcnt()).isEqualTo(charge + 2 * Mbuf.MSIZE);
            assertThat(sb.records()).isEqualTo(1);
            assertThat(sb.sbspace()).isEqualTo(1000 - 300 - 130);
            Mbuf big = Mbuf.devget(new byte[600], 0, 600, Mbuf.M_WAITOK);
            assertThat(sb.sbappendaddr(from, big, null)).as("600 + 106 > 570 left").isFalse();
            sb.sbappendrecord(big);
            sb.sbcheck();
            sb.sbreserve(200);
            assertThat(sb.sbspace()).isNegative();
            assertThat(sb.lowat()).isLessThanOrEqualTo(200);
            long before = domains.droppedBytes();
            assertThat(sb.sbflush()).isEqualTo(900);
            assertThat(domains.droppedBytes() - before).isEqualTo(900);
            assertThat(domains.droppedRecords()).isEqualTo(2);
            assertThat(sb.cc()).isZero();
            assertThat(sb.mbcnt()).isZero();
            assertThat(sb.ctl()).isZero();
            sb.sbcheck();
            assertErrno(Errno.ENOBUFS, () -> sb.sbreserve(SocketConst.SB_MAX + 1));
            assertErrno(Errno.EINVAL, () -> sb.sbreserve(0));
        } finally {
            sb.mtx.unlock();
        }
        so.soclose();
        assertThat(domains.openSockets()).isZero();
    }

    @Test
    @DisplayName("R-SO-1: stream appends merge into one run; partial drops keep cc equal to the mbufs' bytes")
    void streamDrop() throws Exception {
        Socket so = domains.socreate(Sockaddr.AF_UNIX, SocketConst.SOCK_STREAM, 0, Ucred.KERNEL);
        Sockbuf sb = so.rcv();
        sb.mtx.lock();
        try {
            for (int i = 0; i < 5; i++) {
                sb.sbappend(Mbuf.devget(new byte[1000], 0, 1000, Mbuf.M_WAITOK));
            }
            assertThat(sb.records()).isEqualTo(1);
            assertThat(sb.cc()).isEqualTo(5000);
            sb.sbdropFirst(1500);
            sb.sbcheck();
            assertThat(sb.cc()).isEqualTo(3500);
            Mbuf cut = sb.sbcut(2000);
            assertThat(cut.length()).isEqualTo(2000);
            cut.freem();
            sb.sbdropFirst(1500);
            assertThat(sb.records()).isZero();
            sb.sbcheck();
        } finally {
            sb.mtx.unlock();
        }
        so.soclose();
    }

    @Test
    @DisplayName("R-SO-1: a run append takes each datagram that fits, in order, as one append each would; batched dequeues take whole records and leave the counts exact")
    @SuppressWarnings("GuardedBy") // this thread holds sb.mtx throughout
    void runAppendAndBatchedDequeue() throws Exception {
        Socket so = dgram();
        Sockbuf sb = so.rcv();
        sb.mtx.lock();
        try {
            sb.sbreserve(1000);
            Sockaddr from = new Sockaddr.Un("/x"); // 106 bytes of address space per record
            int[] sizes = {100, 50, 700, 60, 10};
            Mbuf[] packets = new Mbuf[sizes.length];
            Object[] froms = new Object[sizes.length];
            Object[] controls = new Object[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                packets[i] = Mbuf.devget(new byte[sizes[i]], 0, sizes[i], Mbuf.M_WAITOK);
                packets[i].data()[packets[i].dataOff()] = (byte) i;
                froms[i] = from;
            }
            controls[1] = List.of(new Cmsg.Data(1, 2, new byte[5])); // 24 bytes
            Mbuf refused = packets[2];
            // 206, then 180 (386), then 806 does not fit (1192), 166 (552), 116 (668)
            assertThat(sb.sbappendaddrRun(packets, froms, controls, 0, sizes.length)).isEqualTo(4);
            assertThat(packets).containsExactly(null, null, refused, null, null);
            assertThat(controls).containsOnlyNulls();
            assertThat(sb.records()).isEqualTo(4);
            assertThat(sb.cc()).isEqualTo(220);
            assertThat(sb.ctl()).isEqualTo(4 * 106 + 24);
            assertThat(sb.sbspace()).isEqualTo(1000 - 220 - 4 * 106 - 24);
            sb.sbcheck();
            refused.freem();

            Sockbuf.Record two = sb.sbdequeueUpTo(2);
            assertThat(two.len).isEqualTo(100);
            assertThat(two.m.data()[two.m.dataOff()]).isEqualTo((byte) 0);
            assertThat(two.next.len).isEqualTo(50);
            assertThat(two.next.control).hasSize(1);
            assertThat(two.next.next).as("the batch ends after two").isNull();
            assertThat(sb.records()).isEqualTo(2);
            assertThat(sb.cc()).isEqualTo(70);
            assertThat(sb.ctl()).isEqualTo(2 * 106);
            sb.sbcheck();
            Sockbuf.Record rest = sb.sbdequeueUpTo(32);
            assertThat(rest.len).isEqualTo(60);
            assertThat(rest.next.len).isEqualTo(10);
            assertThat(rest.next.next).isNull();
            assertThat(sb.first()).isNull();
            assertThat(sb.records()).isZero();
            assertThat(sb.cc()).isZero();
            assertThat(sb.ctl()).isZero();
            assertThat(sb.mbcnt()).isZero();
            assertThat(sb.sbdequeueUpTo(32)).isNull();
            sb.sbcheck();
            // an append after the buffer emptied starts a new list
            assertThat(sb.sbappendaddr(from, Mbuf.devget(new byte[7], 0, 7, Mbuf.M_WAITOK), null)).isTrue();
            assertThat(sb.first().len).isEqualTo(7);
            sb.sbcheck();
            for (Sockbuf.Record r = two; r != null; r = r.next) {
                Mbuf.freeChain(r.m);
            }
            for (Sockbuf.Record r = rest; r != null; r = r.next) {
                Mbuf.freeChain(r.m);
            }
        } finally {
            sb.mtx.unlock();
        }
        so.soclose();
        assertThat(domains.openSockets()).isZero();
    }
}
