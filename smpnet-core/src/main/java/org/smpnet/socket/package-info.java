/**
 * The socket layer (FreeBSD {@code uipc_socket.c}, {@code uipc_sockbuf.c}, {@code uipc_usrreq.c},
 * {@code uipc_syscalls.c}): {@link org.smpnet.socket.Socket} with its two
 * {@link org.smpnet.socket.Sockbuf}s, the protocol switch {@link org.smpnet.socket.Protosw} that
 * protocols implement, per-Vnet protocol registration ({@link org.smpnet.socket.Domains}),
 * UNIX-domain sockets, and the BSD-style API {@link org.smpnet.socket.SocketApi}.
 *
 * <p>This package imports {@code org.smpnet.kern} and {@code org.smpnet.net} only; protocols in
 * {@code org.smpnet.netinet} register themselves into a Vnet's {@link org.smpnet.socket.Domains}.
 */
package org.smpnet.socket;
