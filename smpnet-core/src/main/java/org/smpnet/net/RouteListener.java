package org.smpnet.net;

/**
 * A receiver of routing messages: what a {@code PF_ROUTE} socket is to the routing code ({@code raw_input}
 * in {@code rtsock.c}). Register with {@link RtSock#addListener}.
 */
@FunctionalInterface
public interface RouteListener {
    /**
     * One message, in order of emission. Called on a netisr thread (not in the thread that changed the route),
     * with no routing, address or interface lock held, so the listener may take its own locks (a socket
     * buffer's); with {@code net.mpsafenet=0} Giant is held. {@code wire} is the message's bytes, shared by
     * all listeners: read it, copy it, never modify it. Must not block for long: later messages wait.
     */
    void message(RtMsg msg, byte[] wire);

    /**
     * One message with the origin the writer gave {@link RtSock#write} ({@link RtSock#newOrigin}; 0 for
     * messages no routing socket wrote): a socket without {@code SO_USELOOPBACK} skips its own replies.
     * Same rules as {@link #message(RtMsg, byte[])}, which it calls unless overridden.
     */
    default void message(RtMsg msg, byte[] wire, long origin) {
        message(msg, wire);
    }
}
