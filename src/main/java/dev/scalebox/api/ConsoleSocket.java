package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cluster.Forwarder;
import dev.scalebox.hypervisor.SerialConsole;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import dev.scalebox.vm.VmStatus;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.common.buffers.BufferData;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.websocket.WsCloseCodes;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;
import io.helidon.websocket.WsUpgradeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One viewer of a VM's serial console over {@code GET /vms/{id}/console/ws}: the guest's output
 * as binary frames, the viewer's keystrokes (binary or text frames) to the guest. An upgrade that
 * is refused (no token or session, a foreign Origin, no such VM, a VM not running) falls through
 * to the plain HTTP route of the same path, which answers why with the usual status and JSON.
 * The console of another host's VM is relayed: this host opens the same WebSocket on the VM's
 * host, with the cluster secret, and passes frames both ways (never again from a relayed request).
 */
final class ConsoleSocket implements WsListener {

    static final String PATH = "/vms/{id}/console/ws";
    private static final Pattern VM = Pattern.compile("/vms/([^/]+)/console/ws");
    private static final Logger log = LoggerFactory.getLogger(ConsoleSocket.class);

    private final VmService vms;
    private final Access access;
    private final Optional<Forwarder> forwarder;
    private String vmId;
    private String host;
    private volatile SerialConsole.Attachment attachment;
    private volatile WebSocket relay;

    /** {@code forwarder} relays the consoles of other hosts' VMs; empty, they are refused. */
    ConsoleSocket(VmService vms, Access access, Optional<Forwarder> forwarder) {
        this.vms = vms;
        this.access = access;
        this.forwarder = forwarder;
    }

    @Override
    public Optional<Headers> onHttpUpgrade(HttpPrologue prologue, Headers headers) throws WsUpgradeException {
        Matcher m = VM.matcher(prologue.uriPath().path());
        if (!m.matches() || !access.allows(headers) || Access.foreignOrigin(headers).isPresent()) {
            throw new WsUpgradeException("refused");
        }
        try {
            Vm vm = vms.get(m.group(1));
            if (!consoleIsLive(vm)) {
                throw new WsUpgradeException("not running");
            }
            vmId = vm.id();
            if (!vms.isHere(vm)) {
                if (forwarder.isEmpty() || access.passedOn(headers)) {
                    throw new WsUpgradeException("VM lives on host " + vm.host());
                }
                host = vm.host();
            }
        } catch (ScaleboxException e) {
            throw new WsUpgradeException(e.getMessage());
        }
        return Optional.empty();
    }

    static boolean consoleIsLive(Vm vm) {
        return vm.status() == VmStatus.RUNNING || vm.status() == VmStatus.STARTING;
    }

    /**
     * The plain GET of the console's path, reached when the upgrade was refused or not asked
     * for: it answers why, as the API words it.
     */
    static void register(HttpRouting.Builder routing, VmService vms) {
        routing.get(PATH, (req, res) -> {
            Vm vm = vms.get(req.path().pathParameters().get("id"));
            if (!consoleIsLive(vm)) {
                throw new ScaleboxException.Conflict("VM " + vm.name() + " is " + vm.status().label()
                        + "; its console is live only while it runs");
            }
            throw new ScaleboxException.BadRequest("Expected a WebSocket upgrade (GET with 'Upgrade: websocket')");
        });
    }

    @Override
    public void onOpen(WsSession session) {
        if (host != null) {
            openRelay(session);
            return;
        }
        try {
            attachment = vms.attachConsole(vmId, new SerialConsole.Viewer() {
                @Override
                public void output(byte[] bytes) {
                    synchronized (session) {
                        session.send(BufferData.create(bytes), true);
                    }
                }

                @Override
                public void closed(String reason) {
                    synchronized (session) {
                        session.close(WsCloseCodes.NORMAL_CLOSE, closeReason(reason));
                    }
                }
            });
        } catch (ScaleboxException e) {
            session.close(WsCloseCodes.TRY_AGAIN_LATER, closeReason(e.getMessage()));
        }
    }

    @Override
    public void onMessage(WsSession session, BufferData buffer, boolean last) {
        byte[] bytes = new byte[buffer.available()];
        buffer.read(bytes);
        type(session, bytes);
    }

    @Override
    public void onMessage(WsSession session, String text, boolean last) {
        type(session, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Override
    public void onClose(WsSession session, int status, String reason) {
        leave();
    }

    @Override
    public void onError(WsSession session, Throwable t) {
        log.debug("console of {}: {}", vmId, t.toString());
        leave();
    }

    /** Opens the VM's console on its own host and passes what it says to {@code session}. */
    private void openRelay(WsSession session) {
        try {
            relay = forwarder.orElseThrow().webSocket(host, "/vms/" + vmId + "/console/ws", new WebSocket.Listener() {
                @Override
                public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
                    byte[] bytes = new byte[data.remaining()];
                    data.get(bytes);
                    synchronized (session) {
                        session.send(BufferData.create(bytes), last);
                    }
                    ws.request(1);
                    return null;
                }

                @Override
                public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
                    synchronized (session) {
                        session.close(status, reason);
                    }
                    return null;
                }

                @Override
                public void onError(WebSocket ws, Throwable error) {
                    synchronized (session) {
                        session.close(WsCloseCodes.UNEXPECTED_CONDITION, closeReason("host " + host + ": " + error.getMessage()));
                    }
                }
            });
        } catch (ScaleboxException e) {
            session.close(WsCloseCodes.TRY_AGAIN_LATER, closeReason(e.getMessage()));
        }
    }

    private void type(WsSession session, byte[] bytes) {
        WebSocket to = relay;
        if (to != null) {
            try {
                to.sendBinary(ByteBuffer.wrap(bytes), true).get(30, TimeUnit.SECONDS);
            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                session.close(WsCloseCodes.UNEXPECTED_CONDITION, closeReason("host " + host + " took no keystrokes"));
                leave();
            }
            return;
        }
        typeHere(session, bytes);
    }

    private void typeHere(WsSession session, byte[] bytes) {
        SerialConsole.Attachment to = attachment;
        if (to == null) {
            return;
        }
        try {
            to.send(bytes);
        } catch (IllegalArgumentException e) {
            session.close(WsCloseCodes.TOO_BIG, e.getMessage());
            leave();
        } catch (IOException e) {
            session.close(WsCloseCodes.NORMAL_CLOSE, "the VM stopped");
            leave();
        }
    }

    /** A close frame carries at most 123 bytes of reason. */
    private static String closeReason(String reason) {
        return reason.length() <= 120 ? reason : reason.substring(0, 117) + "...";
    }

    private void leave() {
        WebSocket relayed = relay;
        relay = null;
        if (relayed != null) {
            relayed.sendClose(WebSocket.NORMAL_CLOSURE, "");
        }
        SerialConsole.Attachment was = attachment;
        attachment = null;
        if (was != null) {
            was.detach();
        }
    }
}
