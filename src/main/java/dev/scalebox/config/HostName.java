package dev.scalebox.config;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The names of hosts: one DNS label, lower case, as VM names are. */
public final class HostName {

    private HostName() {
    }

    public static boolean valid(String name) {
        return name != null && name.matches("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    }

    /** This machine's hostname, up to its first dot, in lower case: the default HOST_NAME. */
    public static String ofMachine() {
        String full;
        try {
            full = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (IOException e) {
            try {
                full = InetAddress.getLocalHost().getHostName();
            } catch (IOException unknown) {
                full = "";
            }
        }
        String name = full.split("\\.", 2)[0].toLowerCase(Locale.ROOT);
        if (!valid(name)) {
            throw new ConfigException("This machine's hostname '" + full + "' is not a host name Scalebox can use"
                    + " (one DNS label: letters, digits and dashes); set HOST_NAME");
        }
        return name;
    }
}
