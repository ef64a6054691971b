package dev.scalebox.network;

import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The VMs' HTTPS addresses: {@code https://NAME.DOMAIN} on {@code bind:port}, served by Caddy
 * with certificates from its internal CA, or from ACME when {@code acmeEmail} is set. Caddy keeps
 * its CA and certificates in {@code storage}; a request whose VM does not answer goes to the wake
 * endpoint of the API at {@code wakeUpstream} (host:port).
 */
public record HttpsConfig(String domain, String bind, int port, String acmeEmail, Path storage, String wakeUpstream) {

    /** A VM whose name is one DNS label has an address; other names (with dots or underscores) have none. */
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    /** The VM's address, when it has one. */
    public Optional<String> urlOf(String vmName) {
        return publishes(vmName) ? Optional.of("https://" + host(vmName) + (port == 443 ? "" : ":" + port) + "/")
                : Optional.empty();
    }

    static boolean publishes(String vmName) {
        return LABEL.matcher(vmName).matches();
    }

    String host(String vmName) {
        return vmName + "." + domain;
    }

    /** The VM name an HTTPS request's {@code Host} header names, when it names one under the domain. */
    public Optional<String> vmNameOf(String hostHeader) {
        String host = hostHeader.toLowerCase(java.util.Locale.ROOT).replaceFirst(":\\d+$", "");
        String suffix = "." + domain;
        if (!host.endsWith(suffix)) {
            return Optional.empty();
        }
        String name = host.substring(0, host.length() - suffix.length());
        return publishes(name) ? Optional.of(name) : Optional.empty();
    }

    /** Where Caddy's internal CA keeps its root certificate, which clients trust to reach the VMs. */
    public Path rootCertificate() {
        return storage.resolve("pki/authorities/local/root.crt");
    }
}
