package dev.scalebox.network;

/**
 * A VM as the network sees it: its TAP device, MAC and address, the host port forwarded to its
 * SSH, where it may connect to, and its name and web server's port, which its HTTPS address
 * (https://NAME.HTTP_DOMAIN) leads to.
 */
public record Guest(String vmId, String ip, int sshPort, Egress egress, String name, int httpPort) {

    public Guest(String vmId, String ip, int sshPort, Egress egress) {
        this(vmId, ip, sshPort, egress, vmId, 80);
    }

    public String mac() {
        return Subnet.macOf(ip);
    }

    /** The TAP device's name: {@code sb} and the VM id's random part, within the 15 characters Linux allows. */
    public String tap() {
        return tapOf(vmId);
    }

    public static String tapOf(String vmId) {
        String tail = vmId.startsWith("vm-") ? vmId.substring(3) : vmId;
        return "sb" + (tail.length() > 13 ? tail.substring(tail.length() - 13) : tail);
    }
}
