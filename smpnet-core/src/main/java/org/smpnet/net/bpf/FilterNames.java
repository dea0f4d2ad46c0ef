package org.smpnet.net.bpf;
import java.util.HashMap;
import java.util.Map;
/**
 * Name tables the filter compiler resolves without the system resolver: TCP/UDP service names
 * (as getservbyname(3) would from Debian's /etc/services), IP protocol names (/etc/protocols),
 * Ethernet protocol names and LLC SAP names (libpcap's own tables).
 *
 * <p>Locking: immutable after class initialisation; safe from any thread.
 */
final class FilterNames {
    private FilterNames() {}

    /** Service lines: "proto port name,alias...". */
    private static final String SERVICES = """
        tcp 1 tcpmux
        tcp 7 echo
        udp 7 echo
        tcp 9 discard,sink,null
        udp 9 discard,sink,null
        tcp 11 systat,users
        tcp 13 daytime
        udp 13 daytime
        tcp 15 netstat
        tcp 17 qotd,quote
        tcp 19 chargen,ttytst,source
        udp 19 chargen,ttytst,source
        tcp 20 ftp-data
        tcp 21 ftp
        udp 21 fsp,fspd
        tcp 22 ssh
        tcp 23 telnet
        tcp 25 smtp,mail
        tcp 37 time,timserver
        udp 37 time,timserver
        tcp 43 whois,nicname
        tcp 49 tacacs
        udp 49 tacacs
        tcp 53 domain
        udp 53 domain
        udp 67 bootps
        udp 68 bootpc
        udp 69 tftp
        tcp 70 gopher
        tcp 79 finger
        tcp 80 http,www
        tcp 88 kerberos,kerberos5,krb5,kerberos-sec
        udp 88 kerberos,kerberos5,krb5,kerberos-sec
        tcp 102 iso-tsap,tsap
        tcp 104 acr-nema,dicom
        tcp 110 pop3,pop-3
        tcp 111 sunrpc,portmapper
        udp 111 sunrpc,portmapper
        tcp 113 auth,authentication,tap,ident
        tcp 119 nntp,readnews,untp
        udp 123 ntp
        tcp 135 epmap,loc-srv
        udp 137 netbios-ns
        udp 138 netbios-dgm
        tcp 139 netbios-ssn
        tcp 143 imap2,imap
        tcp 161 snmp
        udp 161 snmp
        tcp 162 snmp-trap,snmptrap
        udp 162 snmp-trap,snmptrap
        tcp 163 cmip-man
        udp 163 cmip-man
        tcp 164 cmip-agent
        udp 164 cmip-agent
        tcp 174 mailq
        udp 177 xdmcp
        tcp 179 bgp
        tcp 199 smux
        tcp 209 qmtp
        tcp 210 z3950,wais
        udp 213 ipx
        udp 319 ptp-event
        udp 320 ptp-general
        tcp 345 pawserv
        tcp 346 zserv
        tcp 369 rpc2portmap
        udp 369 rpc2portmap
        tcp 370 codaauth2
        udp 370 codaauth2
        udp 371 clearcase,Clearcase
        tcp 389 ldap
        udp 389 ldap
        tcp 427 svrloc
        udp 427 svrloc
        tcp 443 https
        udp 443 https
        tcp 444 snpp
        tcp 445 microsoft-ds
        tcp 464 kpasswd
        udp 464 kpasswd
        tcp 465 submissions,ssmtp,smtps,urd
        tcp 487 saft
        udp 500 isakmp
        tcp 554 rtsp
        udp 554 rtsp
        tcp 607 nqs
        udp 623 asf-rmcp
        tcp 628 qmqp
        tcp 631 ipp
        tcp 646 ldp
        udp 646 ldp
        tcp 512 exec
        udp 512 biff,comsat
        tcp 513 login
        udp 513 who,whod
        tcp 514 shell,cmd,syslog
        udp 514 syslog
        tcp 515 printer,spooler
        udp 517 talk
        udp 518 ntalk
        udp 520 route,router,routed
        tcp 538 gdomap
        udp 538 gdomap
        tcp 540 uucp,uucpd
        tcp 543 klogin
        tcp 544 kshell,krcmd
        udp 546 dhcpv6-client
        udp 547 dhcpv6-server
        tcp 548 afpovertcp
        tcp 563 nntps,snntp
        tcp 587 submission
        tcp 636 ldaps
        udp 636 ldaps
        tcp 655 tinc
        udp 655 tinc
        tcp 706 silc
        tcp 749 kerberos-adm
        tcp 853 domain-s
        udp 853 domain-s
        tcp 873 rsync
        tcp 989 ftps-data
        tcp 990 ftps
        tcp 992 telnets
        tcp 993 imaps
        tcp 995 pop3s
        tcp 1080 socks
        tcp 1093 proofd
        tcp 1094 rootd
        tcp 1194 openvpn
        udp 1194 openvpn
        tcp 1099 rmiregistry
        tcp 1352 lotusnote,lotusnotes
        tcp 1433 ms-sql-s
        udp 1434 ms-sql-m
        tcp 1524 ingreslock
        tcp 1645 datametrics,old-radius
        udp 1645 datametrics,old-radius
        tcp 1646 sa-msg-port,old-radacct
        udp 1646 sa-msg-port,old-radacct
        tcp 1649 kermit
        tcp 1677 groupwise
        udp 1701 l2f,l2tp
        tcp 1812 radius
        udp 1812 radius
        tcp 1813 radius-acct,radacct
        udp 1813 radius-acct,radacct
        tcp 2000 cisco-sccp
        tcp 2049 nfs
        udp 2049 nfs
        tcp 2086 gnunet
        udp 2086 gnunet
        tcp 2101 rtcm-sc104
        udp 2101 rtcm-sc104
        tcp 2119 gsigatekeeper
        tcp 2135 gris
        tcp 2401 cvspserver
        tcp 2430 venus
        udp 2430 venus
        tcp 2431 venus-se
        udp 2431 venus-se
        tcp 2432 codasrv
        udp 2432 codasrv
        tcp 2433 codasrv-se
        udp 2433 codasrv-se
        tcp 2583 mon
        udp 2583 mon
        tcp 2628 dict
        tcp 2792 f5-globalsite
        tcp 2811 gsiftp
        tcp 2947 gpsd
        tcp 3050 gds-db,gds_db
        udp 3130 icpv2,icp
        tcp 3205 isns
        udp 3205 isns
        tcp 3260 iscsi-target
        tcp 3306 mysql
        tcp 3389 ms-wbt-server
        tcp 3493 nut
        udp 3493 nut
        tcp 3632 distcc
        tcp 3689 daap
        tcp 3690 svn,subversion
        tcp 4031 suucp
        tcp 4094 sysrqd
        tcp 4190 sieve
        tcp 4369 epmd
        tcp 4373 remctl
        tcp 4353 f5-iquery
        tcp 4460 ntske
        udp 4500 ipsec-nat-t
        udp 4569 iax
        tcp 4691 mtn
        tcp 4899 radmin-port
        tcp 5060 sip
        udp 5060 sip
        tcp 5061 sip-tls
        udp 5061 sip-tls
        tcp 5222 xmpp-client,jabber-client
        tcp 5269 xmpp-server,jabber-server
        tcp 5308 cfengine
        udp 5353 mdns
        tcp 5432 postgresql,postgres
        tcp 5556 freeciv,rptp
        tcp 5671 amqps
        tcp 5672 amqp
        sctp 5672 amqp
        tcp 6000 x11,x11-0
        tcp 6001 x11-1
        tcp 6002 x11-2
        tcp 6003 x11-3
        tcp 6004 x11-4
        tcp 6005 x11-5
        tcp 6006 x11-6
        tcp 6007 x11-7
        tcp 6346 gnutella-svc
        udp 6346 gnutella-svc
        tcp 6347 gnutella-rtr
        udp 6347 gnutella-rtr
        tcp 6379 redis
        tcp 6444 sge-qmaster,sge_qmaster
        tcp 6445 sge-execd,sge_execd
        tcp 6446 mysql-proxy
        udp 6696 babel
        tcp 6697 ircs-u
        tcp 7000 bbs
        udp 7000 afs3-fileserver
        udp 7001 afs3-callback
        udp 7002 afs3-prserver
        udp 7003 afs3-vlserver
        udp 7004 afs3-kaserver
        udp 7005 afs3-volser
        udp 7007 afs3-bos
        udp 7008 afs3-update
        udp 7009 afs3-rmtsys
        tcp 7100 font-service,xfs
        tcp 8080 http-alt,webcache
        tcp 8140 puppet
        tcp 9101 bacula-dir
        tcp 9102 bacula-fd
        tcp 9103 bacula-sd
        tcp 9667 xmms2
        tcp 10809 nbd
        tcp 10050 zabbix-agent
        tcp 10051 zabbix-trapper
        tcp 10080 amanda
        tcp 11112 dicom
        tcp 11371 hkp
        tcp 17500 db-lsp
        tcp 22125 dcap
        tcp 22128 gsidcap
        tcp 22273 wnn6
        ddp 1 rtmp
        ddp 2 nbp
        ddp 4 echo
        ddp 6 zip
        udp 750 kerberos4,kerberos-iv,kdc
        tcp 750 kerberos4,kerberos-iv,kdc
        udp 751 kerberos-master,kerberos_master
        tcp 751 kerberos-master
        udp 752 passwd-server,passwd_server
        tcp 754 krb-prop,krb_prop,krb5_prop,hprop
        udp 2102 zephyr-srv
        udp 2103 zephyr-clt
        udp 2104 zephyr-hm
        tcp 2121 iprop
        tcp 871 supfilesrv
        tcp 1127 supfiledbg
        tcp 106 poppassd
        tcp 775 moira-db,moira_db
        tcp 777 moira-update,moira_update
        udp 779 moira-ureg,moira_ureg
        tcp 783 spamd
        tcp 1178 skkserv
        udp 1210 predict
        tcp 1236 rmtcfg
        tcp 1313 xtel
        tcp 1314 xtelw
        tcp 2600 zebrasrv
        tcp 2601 zebra
        tcp 2602 ripd
        tcp 2603 ripngd
        tcp 2604 ospfd
        tcp 2605 bgpd
        tcp 2606 ospf6d
        tcp 2607 ospfapi
        tcp 2608 isisd
        tcp 4557 fax
        tcp 4559 hylafax
        tcp 4949 munin,lrrd
        udp 5555 rplay
        tcp 5666 nrpe
        tcp 5667 nsca
        tcp 5680 canna
        tcp 6514 syslog-tls
        tcp 6566 sane-port,sane,saned
        tcp 6667 ircd
        tcp 8021 zope-ftp
        tcp 8081 tproxy
        tcp 8088 omniorb
        tcp 8990 clc-build-daemon
        tcp 9098 xinetd
        tcp 9418 git
        tcp 9673 zope
        tcp 10000 webmin
        tcp 10081 kamanda
        tcp 10082 amandaidx
        tcp 10083 amidxtape
        udp 17001 sgi-cmsd
        udp 17002 sgi-crsd
        udp 17003 sgi-gcd
        tcp 17004 sgi-cad
        tcp 24554 binkp
        tcp 27374 asp
        udp 27374 asp
        tcp 30865 csync2
        tcp 57000 dircproxy
        tcp 60177 tfido
        tcp 60179 fido
        """;

    /** Protocol lines: "number name,alias...". */
    private static final String PROTOCOLS = """
        0 ip,IP
        0 hopopt,HOPOPT
        1 icmp,ICMP
        2 igmp,IGMP
        3 ggp,GGP
        4 ipencap,IP-ENCAP
        5 st,ST
        6 tcp,TCP
        8 egp,EGP
        9 igp,IGP
        12 pup,PUP
        17 udp,UDP
        20 hmp,HMP
        22 xns-idp,XNS-IDP
        27 rdp,RDP
        29 iso-tp4,ISO-TP4
        33 dccp,DCCP
        36 xtp,XTP
        37 ddp,DDP
        38 idpr-cmtp,IDPR-CMTP
        41 ipv6,IPv6
        43 ipv6-route,IPv6-Route
        44 ipv6-frag,IPv6-Frag
        45 idrp,IDRP
        46 rsvp,RSVP
        47 gre,GRE
        50 esp,IPSEC-ESP
        51 ah,IPSEC-AH
        57 skip,SKIP
        58 ipv6-icmp,IPv6-ICMP
        59 ipv6-nonxt,IPv6-NoNxt
        60 ipv6-opts,IPv6-Opts
        73 rspf,RSPF,CPHB
        81 vmtp,VMTP
        88 eigrp,EIGRP
        89 ospf,OSPFIGP
        93 ax.25,AX.25
        94 ipip,IPIP
        97 etherip,ETHERIP
        98 encap,ENCAP
        103 pim,PIM
        108 ipcomp,IPCOMP
        112 vrrp,VRRP
        115 l2tp,L2TP
        124 isis,ISIS
        132 sctp,SCTP
        133 fc,FC
        135 mobility-header,Mobility-Header
        136 udplite,UDPLite
        137 mpls-in-ip,MPLS-in-IP
        138 manet
        139 hip,HIP
        140 shim6,Shim6
        141 wesp,WESP
        142 rohc,ROHC
        143 ethernet,Ethernet
        262 mptcp,MPTCP
        """;

    private static final Map<String, Integer> TCP = new HashMap<>();
    private static final Map<String, Integer> UDP = new HashMap<>();
    private static final Map<String, Integer> IPPROTO = new HashMap<>();
    private static final Map<String, Integer> ETHERPROTO = Map.ofEntries(
            Map.entry("aarp", 0x80f3), Map.entry("arp", 0x0806), Map.entry("atalk", 0x809b),
            Map.entry("decnet", 0x6003), Map.entry("ip", 0x0800), Map.entry("ip6", 0x86dd),
            Map.entry("lat", 0x6004), Map.entry("loopback", 0x9000), Map.entry("mopdl", 0x6001),
            Map.entry("moprc", 0x6002), Map.entry("rarp", 0x8035), Map.entry("sca", 0x6007),
            Map.entry("pup", 0x0200), Map.entry("sprite", 0x0500), Map.entry("lanbridge", 0x8038),
            Map.entry("vexp", 0x805b), Map.entry("vprod", 0x805c));
    private static final Map<String, Integer> LLC = Map.of("iso", 0xfe, "stp", 0x42, "ipx", 0xe0, "netbeui", 0xf0);

    static {
        for (String line : SERVICES.split("\n")) {
            String[] f = line.trim().split(" ");
            Map<String, Integer> m = f[0].equals("tcp") ? TCP : f[0].equals("udp") ? UDP : null;
            if (m == null) {
                continue;
            }
            for (String n : f[2].split(",")) {
                m.putIfAbsent(n, Integer.parseInt(f[1]));
            }
        }
        for (String line : PROTOCOLS.split("\n")) {
            String[] f = line.trim().split(" ");
            for (String n : f[1].split(",")) {
                IPPROTO.putIfAbsent(n, Integer.parseInt(f[0]));
            }
        }
    }

    /** TCP port of a service name, or -1. */
    static int tcpPort(String name) {
        return TCP.getOrDefault(name, -1);
    }

    /** UDP port of a service name, or -1. */
    static int udpPort(String name) {
        return UDP.getOrDefault(name, -1);
    }

    /** IP protocol number of a protocol name, or -1. */
    static int ipProto(String name) {
        return IPPROTO.getOrDefault(name, -1);
    }

    /** Ethernet type of a libpcap protocol name, or -1. */
    static int etherProto(String name) {
        return ETHERPROTO.getOrDefault(name, -1);
    }

    /** LLC SAP of a libpcap name, or -1. */
    static int llcSap(String name) {
        return LLC.getOrDefault(name, -1);
    }
}
