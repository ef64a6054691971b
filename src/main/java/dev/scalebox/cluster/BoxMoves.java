package dev.scalebox.cluster;

import dev.scalebox.ScaleboxException;
import dev.scalebox.storage.VolumeTransfer;
import dev.scalebox.store.Database;
import dev.scalebox.store.HostStore;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Moves a suspended box from this host to another: its volume goes by {@code btrfs send} against a
 * base both hosts hold (the base first, whole, when the other host lacks it; see
 * {@link VolumeTransfer}), then the store names the other host as the box's, and this host removes
 * its copy. A box's memory resumes only under the QEMU and CPU model that saved it, so a move to a
 * host with another is refused before anything is sent. Nothing changes here when a step fails:
 * the box stays suspended on this host, and the other host keeps nothing of it.
 */
public final class BoxMoves {

    /** The paths hosts take volumes and bases on, from other hosts only. */
    public static final String VOLUMES = "/cluster/volumes/";
    public static final String BASES = "/cluster/bases/";

    /** What a move sent: the bytes on the wire, against the volume's own (disk and memory). */
    public record Moved(Vm vm, long bytesSent, long baseBytesSent, long diskBytes, long memoryBytes, double seconds) {
    }

    private static final Logger log = LoggerFactory.getLogger(BoxMoves.class);

    private final Database db;
    private final VmService vms;
    private final VolumeTransfer volumes;
    private final Forwarder forwarder;

    BoxMoves(Database db, VmService vms, VolumeTransfer volumes, Forwarder forwarder) {
        this.db = db;
        this.vms = vms;
        this.volumes = volumes;
        this.forwarder = forwarder;
    }

    /** Moves this host's suspended box VM {@code vmId} to host {@code to}. */
    public Moved move(String vmId, String to) {
        long started = System.nanoTime();
        HostStore.Row self = db.hosts().find(db.host()).orElseThrow(() -> new ScaleboxException.Unavailable(
                "host " + db.host() + " has not sent its first heartbeat"));
        HostStore.Row target = db.hosts().find(to).orElseThrow(() -> new ScaleboxException.NotFound("No host named '" + to + "'"));
        requireFit(self, target);
        volumes.unmovable().ifPresent(why -> {
            throw new ScaleboxException.Conflict(why);
        });
        long[] sent = new long[2];
        long[] sizes = new long[2];
        Vm moved = vms.handOver(vmId, to, row -> {
            VolumeTransfer.Sizes volume = volumes.sizes(row.id());
            sizes[0] = volume.disk();
            sizes[1] = volume.memory();
            Optional<String> base = volumes.baseFor(row.id());
            if (base.isPresent() && !targetHas(to, base.get())) {
                sent[1] = push(to, BASES + base.get(), out -> volumes.sendBase(base.get(), out));
            }
            sent[0] = push(to, VOLUMES + row.id() + base.map(b -> "?base=" + b).orElse(""),
                    out -> volumes.send(row.id(), base, out));
        });
        volumes.pruneBases();
        Moved result = new Moved(moved, sent[0], sent[1], sizes[0], sizes[1], (System.nanoTime() - started) / 1e9);
        log.info("Moved box {} to host {} in {} s: sent {} bytes (and {} of a base) for a disk of {} and a memory of {}",
                moved.name(), to, String.format("%.2f", result.seconds()), sent[0], sent[1], sizes[0], sizes[1]);
        return result;
    }

    /** A box's memory resumes only where QEMU and the CPU model are those that saved it. */
    private static void requireFit(HostStore.Row self, HostStore.Row target) {
        if (target.name().equals(self.name())) {
            throw new ScaleboxException.Conflict("The box is on host " + self.name() + " already");
        }
        if (!target.state().equals("up")) {
            throw new ScaleboxException.Conflict("host " + target.name() + " is " + target.state() + " and takes no boxes"
                    + (target.stateReason() == null ? "" : ": " + target.stateReason()));
        }
        if (!target.qemuVersion().equals(self.qemuVersion())) {
            throw new ScaleboxException.Conflict("host " + target.name() + " runs " + target.qemuVersion() + ", and the box's"
                    + " memory was saved by " + self.qemuVersion() + " on " + self.name() + ": it would not resume there");
        }
        if (!target.cpuModel().equals(self.cpuModel())) {
            throw new ScaleboxException.Conflict("host " + target.name() + " has CPU model '" + target.cpuModel()
                    + "', and the box's memory was saved on '" + self.cpuModel() + "' (" + self.name()
                    + "): it would not resume there");
        }
    }

    private boolean targetHas(String to, String base) {
        Forwarder.Answer answer = forwarder.forward(to, "GET", BASES + base, null, new byte[0]);
        return answer.status() == 204;
    }

    /** Streams what {@code body} writes to {@code path} on host {@code to}; the bytes sent. */
    private long push(String to, String path, java.util.function.Consumer<OutputStream> body) {
        AtomicLong count = new AtomicLong();
        Forwarder.Answer answer = forwarder.upload(to, "PUT", path, VolumeTransfer.MEDIA_TYPE, out ->
                body.accept(new FilterOutputStream(out) {
                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                        count.addAndGet(len);
                    }
                }));
        if (answer.status() / 100 != 2) {
            throw new ScaleboxException.Unavailable("host " + to + " did not take " + path + ": " + answer.status() + " "
                    + new String(answer.body(), StandardCharsets.UTF_8));
        }
        return count.get();
    }

}
