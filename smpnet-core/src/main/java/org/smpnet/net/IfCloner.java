package org.smpnet.net;

import java.util.List;
import java.util.Map;

/**
 * A kind of interface that can be created and destroyed by name ({@code struct if_clone}): {@code epair},
 * {@code vlan}, {@code lo}. Registered with {@link IfClones}, which allocates the units.
 */
public interface IfCloner {
    /** What is created: the interfaces, destroyed together. */
    interface Clone {
        /** The interfaces of this clone, as created (they may have been detached since). */
        List<Ifnet> ifnets();

        /** Detaches and frees the interfaces that are still attached. Idempotent; may sleep; hold no lock. */
        void destroy();
    }

    /** The name prefix, letters only ({@code "epair"}). */
    String prefix();

    /** The highest unit number. */
    default int maxUnit() {
        return 32767;
    }

    /** The names unit {@code unit} creates ({@code epair3a}, {@code epair3b}). */
    default List<String> names(int unit) {
        return List.of(prefix() + unit);
    }

    /**
     * Creates and attaches the interfaces of {@code unit} ({@code ifc_create}). May sleep; hold no lock.
     *
     * @param params driver parameters (vlan: {@code tag}, {@code parent}); unknown ones are rejected
     * @throws IllegalArgumentException for missing or bad parameters, with a message naming them
     */
    Clone create(int unit, Map<String, String> params);
}
