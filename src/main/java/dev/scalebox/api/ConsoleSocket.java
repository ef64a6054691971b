package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
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
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One viewer of a VM's serial console over {@code GET /vms/{id}/console/ws}: the guest's output
 * as binary frames, the viewer's keystrokes (binary or text frames) to the guest. An upgrade that
 * is refused (no token or session, a foreign Origin, no such VM, a VM not running) falls through
 * to the plain HTTP route of the same path, which answers why with the usual status and JSON.
 */
final class ConsoleSocket implements WsListener {

    static final String PATH = "/vms/{id}/console/ws";
    private static final Pattern VM = Pattern.compile("/vms/([^/]+)/console/ws");
    private static final Logger log = LoggerFactory.getLogger(ConsoleSocket.class);

    private final VmService vms;
    private final Access access;
    private String vmId;
    private volatile SerialConsole.Attachment attachment;

    ConsoleSocket(VmService vms, Access access) {
        this.vms = vms;
        this.access = access;
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

    private void type(WsSession session, byte[] bytes) {
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
        SerialConsole.Attachment was = attachment;
        attachment = null;
        if (was != null) {
            was.detach();
        }
    }
}
