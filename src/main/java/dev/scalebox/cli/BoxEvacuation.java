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

/**
 * What a drained host does with its boxes: one at a time, each is suspended when it runs (its
 * user's sessions end; they resume it on its new host) and moved to the host {@link Cluster#placeBox}
 * chooses. A box that cannot go (no host with room, a move refused) stays, and is tried again on
 * a later heartbeat while the host is drained.
 */
final class BoxEvacuation implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(BoxEvacuation.class);

    private final Cluster cluster;
    private final Boxes boxes;
    private final BoxMoves moves;
    private final VmService vms;
    private final VolumeTransfer volumes;

    BoxEvacuation(Cluster cluster, Boxes boxes, BoxMoves moves, VmService vms, VolumeTransfer volumes) {
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
                VolumeTransfer.Sizes sizes = volumes.sizes(box.vmId());
                String to = cluster.placeBox(vms.get(box.vmId()).memSizeMib(), sizes.disk() + sizes.memory())
                        .orElseThrow(() -> new ScaleboxException.InsufficientStorage("no up host with the same QEMU and"
                                + " CPU model has room for it"));
                BoxMoves.Moved moved = boxes.moveAway(box.id(), vm -> moves.move(vm, to));
                log.info("Drained: box {} moved to host {} ({} bytes sent)", box.id(), to, moved.bytesSent());
            } catch (RuntimeException e) {
                log.warn("Drained, but box {} stays for now: {}", box.id(), e.getMessage());
            }
        }
    }
}
