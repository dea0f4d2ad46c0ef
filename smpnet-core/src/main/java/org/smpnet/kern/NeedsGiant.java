package org.smpnet.kern;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a component (driver, protocol, netgraph node...) that is not MPSAFE: its entry points run
 * under {@link Giant} whatever {@code net.mpsafenet} says (FreeBSD's IFF_NEEDSGIANT). The build
 * writes every annotated class into the jar's Giant inventory ({@code debug.giant.inventory}).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface NeedsGiant {
    /** Why the component needs Giant, one line. */
    String value();
}
