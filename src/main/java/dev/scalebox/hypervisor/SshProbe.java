package dev.scalebox.hypervisor;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * Whether a guest's SSH server answers. A TCP connect alone proves nothing: QEMU's user-mode
 * network accepts on the forwarded port before the guest listens, then drops the connection. Only
 * the server's banner ({@code SSH-2.0-...}) counts.
 *
 * <p>A probe waits for the banner as long as a starved guest may take to send it, so there is one
 * connection at a time, and it should be made only once the guest's network is up (before, the
 * forwarding holds it unanswered). Giving up after a second and connecting again, as this once
 * did, flooded starved guests with connections their sshd forked for and the forwarding kept
 * half-open: ten guests booting at once on two cores were seen holding 160 each, and none came up
 * in 20 minutes. The connect itself may give up soon: a connection not yet accepted costs the
 * guest nothing, and a SYN sent before the guest had its address is sent again only after a
 * second.
 */
public final class SshProbe {

    /** What a probe found. */
    public enum Answer { ANSWERED, NOT_LISTENING, SLOW }

    private static final int CONNECT_MILLIS = 300;
    private static final int BANNER_MILLIS = 30_000;

    private SshProbe() {
    }

    public static Answer probe(String host, int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), CONNECT_MILLIS);
            socket.setSoTimeout(BANNER_MILLIS);
            InputStream in = socket.getInputStream();
            byte[] banner = in.readNBytes(4);
            return new String(banner, StandardCharsets.US_ASCII).equals("SSH-") ? Answer.ANSWERED : Answer.NOT_LISTENING;
        } catch (SocketTimeoutException e) {
            return Answer.SLOW;
        } catch (IOException e) {
            return Answer.NOT_LISTENING;
        }
    }
}
