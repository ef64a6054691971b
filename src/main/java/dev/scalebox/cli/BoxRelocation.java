package dev.scalebox.cli;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cluster.BoxMoves;
import dev.scalebox.cluster.Cluster;
import dev.scalebox.gateway.Box;
import dev.scalebox.gateway.Boxes;
import dev.scalebox.storage.VolumeTransfer;
import dev.scalebox.vm.VmService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;

/**
 * Where this host's boxes go when they cannot stay. When the host is drained ({@link #run}), one
 * at a time, each is suspended when it runs (its user's sessions end; they resume it on its new
 * host) and moved to the host {@link Cluster#placeBox} chooses; a box that cannot go (no host with
 * room, a move refused) stays, and is tried again on a later heartbeat while the host is drained.
 * When its user connects and this host has no instance for it, a suspended box moves to a host
 * whose pool has one ({@link #placeToRun}, {@link #move}).
 */
final class BoxRelocation implements Runnable, Boxes.Relocation {

    private static final Logger log = LoggerFactory.getLogger(BoxRelocation.class);

    private final Cluster cluster;
    private final Boxes boxes;
    private final BoxMoves moves;
    private final VmService vms;
    private final VolumeTransfer volumes;

    BoxRelocation(Cluster cluster, Boxes boxes, BoxMoves moves, VmService vms, VolumeTransfer volumes) {
        this.cluster = cluster;
        this.boxes = boxes;
        this.moves = moves;
        this.vms = vms;
        this.volumes = volumes;
    }

    @Override
    public void run() {
        for (Box box : boxes.list()) {
            try {
                if (box.status().equals("running")) {
                    boxes.suspend(box.id());
                } else if (!box.status().equals("suspended")) {
                    continue;
                }
                String to = placeFor(box.vmId(), false).orElseThrow(() -> new ScaleboxException.InsufficientStorage(
                        "no up host with the same QEMU and CPU model has room for it"));
                BoxMoves.Moved moved = boxes.moveAway(box.id(), vm -> moves.move(vm, to));
                log.info("Drained: box {} moved to host {} ({} bytes sent)", box.id(), to, moved.bytesSent());
            } catch (RuntimeException e) {
                log.warn("Drained, but box {} stays for now: {}", box.id(), e.getMessage());
            }
        }
    }

    @Override
    public Optional<String> placeToRun(String vmId) {
        Optional<String> to = placeFor(vmId, true);
        if (to.isEmpty()) {
            log.info("No other host has room to run box VM {}: it stays", vmId);
        }
        return to;
    }

    /** Called under the box's user's lock, with the box suspended here. */
    @Override
    public void move(String vmId, String host) {
        BoxMoves.Moved moved = moves.move(vmId, host);
        log.info("Full: box VM {} moved to host {} ({} bytes sent)", vmId, host, moved.bytesSent());
    }

    private Optional<String> placeFor(String vmId, boolean toRun) {
        VolumeTransfer.Sizes sizes = volumes.sizes(vmId);
        return cluster.placeBox(vms.get(vmId).memSizeMib(), sizes.disk() + sizes.memory(), toRun);
    }
}
