package org.smpnet.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.smpnet.ControlProtocol;
import org.smpnet.Vnet;
import org.smpnet.VnetControl;
import org.smpnet.net.Epair;
import org.smpnet.net.Ifnet;

/**
 * {@code smpnet demo --serve}: Vnets {@code alpha} and {@code beta} joined by an epair with
 * {@link LiveTraffic} on it (and the network tools installed), exported as a control endpoint until the linger time passes or the process
 * is interrupted (Ctrl-C closes the Vnets, which ends running captures cleanly, and removes the socket).
 */
final class DemoServer implements Callable<Integer> {
    private final PrintStream out;
    private final Path dir;
    private final String name;
    private final long periodMillis;
    private final long lingerSeconds;

    DemoServer(PrintStream out, Path dir, String name, long periodMillis, long lingerSeconds) {
        if (periodMillis < 1 || lingerSeconds < 0) {
            throw new IllegalArgumentException("--period must be positive and --linger not negative");
        }
        this.out = out;
        this.dir = dir != null ? dir : ControlProtocol.defaultDir();
        this.name = name;
        this.periodMillis = periodMillis;
        this.lingerSeconds = lingerSeconds;
    }

    @Override
    public Integer call() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch cleaned = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stop.countDown();
            try {
                cleaned.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "smpnet demo stop");
        Vnet alpha = new Vnet("alpha");
        Vnet beta = new Vnet("beta");
        VnetControl ctl = null;
        LiveTraffic traffic = null;
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            Epair e = alpha.epair(beta);
            alpha.addrs().add(e.a(), org.smpnet.net.InAddr.parse("10.0.0.1"), 24);
            beta.addrs().add(e.b(), org.smpnet.net.InAddr.parse("10.0.0.2"), 24);
            ctl = VnetControl.export(dir, name, List.of(alpha, beta), NetTools::run);
            e.quiesce();
            traffic = new LiveTraffic(alpha, beta, periodMillis);
            announce(ctl, e.a(), e.b());
            boolean interrupted = lingerSeconds == 0 ? awaitForever(stop) : stop.await(lingerSeconds, TimeUnit.SECONDS);
            out.printf("%s after %,d rounds of traffic (%,d echo replies, %,d UDP datagrams echoed)%n",
                    interrupted ? "interrupted" : "linger time over", traffic.rounds(), traffic.echoReplies(), traffic.udpEchoed());
            return 0;
        } finally {
            if (traffic != null) {
                traffic.close();
            }
            alpha.close(); // detaches the interfaces: running captures end with their summary
            beta.close();
            if (ctl != null) {
                ctl.close();
            }
            out.flush();
            cleaned.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // interrupted: the hook is running and now returns
            }
        }
    }

    private static boolean awaitForever(CountDownLatch stop) throws InterruptedException {
        stop.await();
        return true;
    }

    private void announce(VnetControl ctl, Ifnet a, Ifnet b) {
        out.println("smpnet demo --serve: vnets alpha (" + a.name() + ", lo0) and beta (" + b.name() + ", lo0) joined by "
                + a.name() + "/" + b.name() + ";");
        out.println("traffic every " + periodMillis + " ms through both stacks: alpha (10.0.0.1) pings beta (10.0.0.2) and"
                + " sends UDP to port " + LiveTraffic.PORT + ", which beta echoes back");
        out.println("control endpoint " + ctl.path());
        String dirOpt = ctl.path().getParent().equals(ControlProtocol.defaultDir()) ? "" : " --ctl-dir " + ctl.path().getParent();
        out.println("from another shell:");
        out.println("  smpnet tcpdump" + dirOpt + " -D");
        out.println("  smpnet tcpdump" + dirOpt + " -i " + a.name() + " -c 10");
        out.println("  smpnet tcpdump" + dirOpt + " -i " + b.name() + " -Q in 'icmp[icmptype] == icmp-echo'");
        out.println("  smpnet tcpdump" + dirOpt + " -i " + a.name() + " -c 100 -w /tmp/demo.pcap 'udp port " + LiveTraffic.PORT + "'");
        out.println("  smpnet tcpdump" + dirOpt + " -i lo0 --vnet beta");
        out.println("  smpnet ping" + dirOpt + " --vnet alpha -c 3 10.0.0.2");
        out.println("  smpnet route" + dirOpt + " --vnet alpha add 10.9.0.0/16 10.0.0.2");
        out.println("  smpnet netstat" + dirOpt + " --vnet alpha -r");
        out.println("  smpnet netstat" + dirOpt + " --vnet beta -s -p icmp");
        out.println("  smpnet ifconfig" + dirOpt + " --vnet alpha");
        out.println(lingerSeconds == 0 ? "serving until interrupted (Ctrl-C)" : "serving for " + lingerSeconds + " s");
        out.flush();
    }
}
