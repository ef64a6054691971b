package dev.scalebox.vm;

import dev.scalebox.ScaleboxException;
import dev.scalebox.hypervisor.ConsoleLog;
import dev.scalebox.hypervisor.SerialConsole;
import dev.scalebox.storage.DataLayout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The live serial consoles of running VMs: one connection to each VM's socket, however many watch. */
final class Consoles {

    /** What a new viewer is shown of what came before. */
    static final int HISTORY_BYTES = 4096;

    private final DataLayout layout;
    private final Map<String, SerialConsole> open = new HashMap<>();

    Consoles(DataLayout layout) {
        this.layout = layout;
    }

    synchronized SerialConsole.Attachment attach(String vmId, SerialConsole.Viewer viewer) {
        Path runDir = layout.runDir(vmId);
        SerialConsole console = open.get(vmId);
        if (console == null || console.ended()) {
            try {
                console = SerialConsole.open(runDir.resolve(SerialConsole.SOCKET), () -> forget(vmId));
            } catch (IOException e) {
                throw new ScaleboxException.Conflict("The console of " + vmId + " cannot be reached (" + e.getMessage()
                        + "); a VM started before this version of Scalebox has one after its next start");
            }
            open.put(vmId, console);
        }
        byte[] history = ConsoleLog.tail(runDir, HISTORY_BYTES).getBytes(StandardCharsets.UTF_8);
        return console.attach(viewer, history);
    }

    private synchronized void forget(String vmId) {
        SerialConsole console = open.get(vmId);
        if (console != null && console.ended()) {
            open.remove(vmId);
        }
    }
}
