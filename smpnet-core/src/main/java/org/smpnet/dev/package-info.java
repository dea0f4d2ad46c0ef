/**
 * Device drivers. For now the simulated multi-queue NIC the tests drive (R-IF-5), in an MPSAFE and a
 * NEEDSGIANT variant.
 */
package org.smpnet.dev;
