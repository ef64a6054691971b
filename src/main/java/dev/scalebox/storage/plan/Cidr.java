package dev.scalebox.storage.plan;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** A network written as ADDRESS/PREFIX, IPv4 or IPv6; never a host name, so nothing is looked up. */
final class Cidr {

    private Cidr() {
    }

    static boolean valid(String text) {
        int slash = text.indexOf('/');
        if (slash < 0 || !text.substring(slash + 1).matches("[0-9]{1,3}")) {
            return false;
        }
        String address = text.substring(0, slash);
        int prefix = Integer.parseInt(text.substring(slash + 1));
        if (address.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
            for (String octet : address.split("\\.")) {
                if (Integer.parseInt(octet) > 255) {
                    return false;
                }
            }
            return prefix <= 32;
        }
        if (!address.contains(":") || !address.matches("[0-9A-Fa-f:.]+")) {
            return false;
        }
        try {
            InetAddress.getByName(address); // a literal: parsed, not resolved
            return prefix <= 128;
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
