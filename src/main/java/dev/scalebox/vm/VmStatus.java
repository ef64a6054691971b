package dev.scalebox.vm;

import java.util.Locale;

/**
 * The states of a VM. {@code running} means the QEMU process is alive and the guest's SSH server
 * answered with its banner; nothing is ever reported running on a guess. {@code suspended}: no
 * process, the guest's memory saved beside its disk, resumed by the next start. {@code unknown}
 * is never stored: it is how a VM reads while its host is down, whatever its record says.
 */
public enum VmStatus {
    CREATING, STARTING, RUNNING, STOPPING, STOPPED, SUSPENDED, ERROR, UNKNOWN;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static VmStatus of(String label) {
        return valueOf(label.toUpperCase(Locale.ROOT));
    }
}
