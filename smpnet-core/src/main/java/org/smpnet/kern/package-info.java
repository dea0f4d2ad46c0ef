/**
 * Kernel services: named locks and WITNESS, Giant, the net epoch, sysctl, callouts, task queues,
 * per-CPU counters and UMA zones. This package imports no other smpnet package.
 */
package org.smpnet.kern;
