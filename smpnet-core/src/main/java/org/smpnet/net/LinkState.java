package org.smpnet.net;

/** Link state ({@code LINK_STATE_*}). */
public enum LinkState { UNKNOWN, DOWN, UP }
